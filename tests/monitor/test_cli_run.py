"""``villenum monitor poll`` and ``run`` as an admin uses them: real processes, real agents."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from villenum.hotspots.inventory import write_inventory

from .conftest import ap_records

VILLENUM = [sys.executable, "-m", "villenum"]


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def inventory(tmp_path: Path, port: int) -> Path:
    return write_inventory(
        [{"id": "ap-1", "name": "Casino", "zone": "Grande Plage", "lat": 43.4838,
          "lon": -1.5588, "address": "127.0.0.1", "port": port, "community": "public",
          "vendor_profile": "openwrt"}],
        tmp_path / "inventory.toml",
    )  # fmt: skip


def test_poll_once_json_contract_and_rates_from_the_previous_run(
    snmpsim_factory: Any, tmp_path: Path
) -> None:
    sim = snmpsim_factory({"public": ap_records()})
    inv = inventory(tmp_path, sim.port)
    args = [*VILLENUM, "monitor", "poll", "--once", "--json",
            "--inventory", str(inv), "--db", str(tmp_path / "m.db")]  # fmt: skip
    first = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    status = json.loads(first.stdout)["hotspots"][0]
    assert {"id", "name", "state", "reason", "score", "metrics", "rates"} <= set(status)
    assert status["rates"]["uplink_in_bps"] is None  # nothing to compare with yet
    time.sleep(1)
    second = subprocess.run(args, capture_output=True, text=True, timeout=120)
    status = json.loads(second.stdout)["hotspots"][0]
    assert status["state"] == "up" and status["metrics"]["clients"] == 12
    # a new process, yet rates: the previous sample was persisted in --db
    assert status["rates"]["uplink_in_bps"] == pytest.approx(10e6, rel=0.1)
    assert status["rates"]["uplink_out_bps"] == pytest.approx(2e6, rel=0.1)


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.slow
def test_run_serves_metrics_and_stops_cleanly(snmpsim_factory: Any, tmp_path: Path) -> None:
    sim = snmpsim_factory({"public": ap_records()})
    port = free_tcp_port()
    proc = subprocess.Popen(
        [*VILLENUM, "monitor", "run", "--inventory", str(inventory(tmp_path, sim.port)),
         "--db", str(tmp_path / "m.db"), "--interval", "1", "--listen", f"127.0.0.1:{port}",
         "--token", "tk"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                code, body = _get(f"http://127.0.0.1:{port}/healthz")
                if code == 200 and json.loads(body)["hotspots"] == 1:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail(
                f"monitor run never served /healthz: {proc.stderr.read() if proc.poll() else ''}"
            )
        time.sleep(2.5)  # a few cycles: rates appear
        assert _get(f"http://127.0.0.1:{port}/metrics")[0] == 401
        code, body = _get(f"http://127.0.0.1:{port}/metrics", "tk")
        assert (
            code == 200 and b'villenum_hotspot_up{hotspot="ap-1",zone="Grande Plage"} 1.0' in body
        )
        assert b"villenum_hotspot_uplink_bits_per_second" in body
        code, body = _get(f"http://127.0.0.1:{port}/api/hotspots", "tk")
        assert json.loads(body)["hotspots"][0]["state"] == "up"
        code, body = _get(f"http://127.0.0.1:{port}/map", "tk")
        assert code == 200 and b"vn-hs" in body
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--listen", "0.0.0.0:9100"], "is off loopback: give --token"),
        (["--listen", "nonsense"], "--listen must be HOST:PORT"),
        (["--interval", "0"], "must be positive"),
        (["--concurrency", "0"], "--concurrency must be at least 1"),
    ],
)
def test_run_refuses_bad_options_in_one_line(
    tmp_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from villenum.cli import main

    inv = inventory(tmp_path, 161)
    status = main(["monitor", "run", "--inventory", str(inv), "--db", str(tmp_path / "m.db"),
                   *extra])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and err.strip().count("\n") == 0
