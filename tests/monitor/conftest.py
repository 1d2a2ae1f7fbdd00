"""Real SNMP agents for the monitor tests: snmpsim data files generated here, Debian snmpd."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from villenum.hotspots._snmp_simdata import ap_snmprec
from villenum.hotspots.simulate import wait_for_agent

VENV_BIN = Path(sys.executable).parent
SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"
is_root = os.geteuid() == 0
needs_root = pytest.mark.skipif(not is_root, reason="needs root (network namespaces, raw sockets)")

ap_records = ap_snmprec  # the tests' name for a simulated access point's data file


def free_udp_port() -> int:
    """A UDP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SnmpSim:
    """One snmpsim-command-responder serving data files on a loopback UDP port."""

    def __init__(
        self,
        workdir: Path,
        files: dict[str, str],
        v3: dict[str, str] | None = None,
        port: int | None = None,
    ):
        self.workdir = workdir
        self.data = workdir / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        for community, text in files.items():
            (self.data / f"{community}.snmprec").write_text(text)
        self.v3 = v3
        self.port = port or free_udp_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def pause(self) -> None:
        """Freeze the agent (SIGSTOP): it stops answering, as a hung device does."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Unfreeze the agent (SIGCONT)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def start(self) -> SnmpSim:
        args = [
            str(VENV_BIN / "snmpsim-command-responder"),
            f"--data-dir={self.data}",
            f"--cache-dir={self.workdir / 'cache'}",
            f"--agent-udpv4-endpoint=127.0.0.1:{self.port}",
            "--logging-method=null",
        ]
        if self.v3:
            args += [
                f"--v3-user={self.v3['user']}",
                f"--v3-auth-key={self.v3['auth_key']}",
                "--v3-auth-proto=SHA",
                f"--v3-priv-key={self.v3['priv_key']}",
                "--v3-priv-proto=AES",
            ]
        env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
        self.proc = subprocess.Popen(
            args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_for_agent(self.port, community=next(iter_communities(self.data)), proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def iter_communities(data: Path) -> Iterator[str]:
    for path in sorted(data.glob("*.snmprec")):
        yield path.stem


@pytest.fixture
def snmpsim_factory(tmp_path: Path) -> Iterator[Any]:
    """Start snmpsim agents (``factory(files, v3=None)``); all are stopped at teardown."""
    started: list[SnmpSim] = []

    def factory(
        files: dict[str, str], v3: dict[str, str] | None = None, name: str = "sim"
    ) -> SnmpSim:
        sim = SnmpSim(tmp_path / f"{name}{len(started)}", files, v3).start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()


SNMPD_CONF = """agentAddress udp:{address}:{port}
rocommunity public {source}
createUser {user} SHA "{auth_key}" AES "{priv_key}"
rouser {user} priv
extend wifi-clients /bin/echo 7
extend wifi-chanutil /bin/echo 41
extend wifi-noise /bin/echo -95
"""


@pytest.fixture
def snmpd(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Debian's snmpd on a loopback high port: v2c ``public`` and a v3 authPriv SHA/AES user."""
    if not os.path.exists(SNMPD):
        pytest.skip("Debian snmpd is not installed")
    port = free_udp_port()
    creds = {"user": "villenum", "auth_key": "auth-secret-1", "priv_key": "priv-secret-1"}
    conf = tmp_path / "snmpd.conf"
    conf.write_text(SNMPD_CONF.format(address="127.0.0.1", port=port, source="127.0.0.1", **creds))
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(tmp_path / "persist"), "MIBS": ""}
    proc = subprocess.Popen(
        [SNMPD, "-f", "-C", "-c", str(conf), "-Lf", str(tmp_path / "snmpd.log"),
         "-p", str(tmp_path / "snmpd.pid")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for_agent(port, "public", proc)
        yield {"port": port, "proc": proc, **creds}
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def monitored_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A monitor database after real polls of snmpsim agents: one hotspot per state.

    ``gp1`` up, ``gp2`` degraded (70 clients for 50), ``pv1`` degraded (uplink down), ``ph1``
    down (nothing listens on its port), ``cb1`` planned (unknown). Yields the paths, the
    hotspots and a ``cycle()`` function polling again.
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from villenum.hotspots.health import HealthConfig
    from villenum.hotspots.inventory import validate_hotspots, write_inventory
    from villenum.hotspots.monitor import Monitor, MonitorConfig
    from villenum.hotspots.snmp import PollerOptions
    from villenum.hotspots.store import Store

    workdir = tmp_path_factory.mktemp("monitored")
    files = {"public": ap_records(), "busy": ap_records(clients=70),
             "nolink": ap_records(uplink_up=False)}  # fmt: skip
    sim = SnmpSim(workdir, files).start()
    dead_port = free_udp_port()

    def ap(ident: str, name: str, zone: str, lat: float, lon: float, **kw: Any) -> dict[str, Any]:
        return {"id": ident, "name": name, "zone": zone, "lat": lat, "lon": lon,
                "vendor_profile": "openwrt", **kw}  # fmt: skip

    snmp = {"address": "127.0.0.1", "port": sim.port}
    tables = [
        ap("gp1", "Grande Plage – casino", "Grande Plage", 43.4838, -1.5588, **snmp,
           community="public"),
        ap("gp2", "Grande Plage – nord", "Grande Plage", 43.4850, -1.5577, **snmp,
           community="busy"),
        ap("pv1", "Port-Vieux", "Port-Vieux", 43.4815, -1.5640, **snmp, community="nolink"),
        ap("ph1", "Phare", "Phare", 43.4936, -1.5533, address="127.0.0.1", port=dead_port,
           community="public"),
        ap("cb1", "Côte des Basques (planned)", "Côte des Basques", 43.4787, -1.5685),
    ]  # fmt: skip
    inventory = write_inventory(tables, workdir / "inventory.toml")
    hotspots = validate_hotspots(tables)
    db = workdir / "monitor.db"
    config = MonitorConfig(
        interval_s=1.0,
        poller=PollerOptions(timeout_s=1.0, retries=1, deadline_s=8.0),
        health=HealthConfig(interval_s=1.0, down_after=2, up_after=2),
    )
    store = Store(db)
    monitor = Monitor(hotspots, store, config)

    def cycle() -> list[dict[str, Any]]:
        # a thread of its own: Playwright's sync API keeps an event loop in the main thread
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, monitor.cycle()).result()

    for _ in range(3):
        cycle()
    try:
        yield {"db": db, "inventory": inventory, "hotspots": hotspots, "cycle": cycle,
               "dead_port": dead_port, "workdir": workdir, "files": files}  # fmt: skip
    finally:
        sim.stop()
        store.close()
