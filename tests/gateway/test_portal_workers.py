"""The portal's worker processes on loopback: one port shared, a clear error, no orphans."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest

from villenum.errors import GatewayError
from villenum.hotspots._gw_portal import PortalWorkers
from villenum.hotspots.gateway_config import GatewaySettings

PARENT = """
import sys, time
from pathlib import Path
from villenum.hotspots._gw_portal import PortalWorkers
from villenum.hotspots.gateway_config import GatewaySettings
settings = GatewaySettings(lan_interface="lo", wan_interface="lo", portal_address="127.0.0.1",
                           portal_port=int(sys.argv[2]), state_dir=Path(sys.argv[1]))
workers = PortalWorkers(settings, 2)  # kept: dropping it closes the workers' sockets
workers.start()
print("ready", flush=True)
time.sleep(600)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_workers_share_the_port_and_leave_with_their_parent(tmp_path: Path) -> None:
    port = _free_port()
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path), str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
        workers = psutil.Process(parent.pid).children()
        assert len(workers) == 2
        for _ in range(6):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                assert r.status == 200 and b'name="token"' in r.read()
    finally:
        parent.kill()  # no chance to stop its workers: they must notice on their own
        parent.wait()
    _, alive = psutil.wait_procs(workers, timeout=15)
    assert alive == []
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def test_a_taken_port_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = GatewaySettings(
            lan_interface="lo", wan_interface="lo", portal_address="127.0.0.1",
            portal_port=port, state_dir=tmp_path,
        )  # fmt: skip
        workers = PortalWorkers(settings, 2)
        with pytest.raises(GatewayError, match=f"cannot listen on 127.0.0.1:{port}"):
            workers.start()
        workers.stop()
