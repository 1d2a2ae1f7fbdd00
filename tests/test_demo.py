"""``villenum demo``: the file stage end to end, and the live stage on simulated agents."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyogrio
import pytest

from villenum.hotspots.inventory import load_inventory, write_inventory


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_demo_no_serve_writes_every_output(tmp_path: Path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "villenum", "demo", "--no-serve", "--aps", "20", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "files written" in proc.stdout
    layers = {name for name, _ in pyogrio.list_layers(out / "city.gpkg")}
    assert {"zones", "buildings", "streets", "demand"} <= layers
    plan_layers = {name for name, _ in pyogrio.list_layers(out / "plan" / "plan.gpkg")}
    assert {"ap_sites", "trenches"} <= plan_layers
    assert len(load_inventory(out / "plan" / "inventory.toml")) == 20
    for html in (out / "city_map.html", out / "plan" / "map.html"):
        text = html.read_text()
        assert "OpenStreetMap" in text and "cdn.jsdelivr" not in text
    assert (out / "plan" / "bom.csv").stat().st_size > 0
    # every output the demo lists exists
    listed = [line.split()[-1] for line in proc.stdout.splitlines() if line.startswith("  ")]
    assert all(Path(p).exists() for p in listed if p.startswith(str(out)))


@pytest.mark.slow
def test_demo_live_stage_monitors_simulated_agents(tmp_path: Path):
    hotspots = [
        {"id": f"ap-{i}", "name": f"Test AP {i}", "lat": 43.48 + i / 1000, "lon": -1.56}
        for i in range(3)
    ]
    inventory = write_inventory(hotspots, tmp_path / "inventory.toml")
    monitor_port, portal_port = free_tcp_port(), free_tcp_port()
    code = (
        "from pathlib import Path\nfrom villenum.demo import serve\n"
        f"raise SystemExit(serve(Path({str(inventory)!r}), Path({str(tmp_path)!r}), "
        f"monitor_port={monitor_port}, portal_port={portal_port}, interval_s=2))"
    )
    demo = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        states = _wait_for_states(f"http://127.0.0.1:{monitor_port}/api/hotspots", 3, 240)
        assert set(states) == {"ap-0", "ap-1", "ap-2"}
        assert all(state == "up" for state in states.values())
        with urllib.request.urlopen(f"http://127.0.0.1:{portal_port}/", timeout=10) as page:
            assert page.status == 200
    finally:
        demo.send_signal(signal.SIGTERM)
        output, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0
    assert "SIMULATED" in output and "stopped." in output
    simulated = load_inventory(tmp_path / "simulated_agents" / "inventory.simulated.toml")
    assert all("[simulated]" in h.name for h in simulated)


def _wait_for_states(url: str, count: int, timeout_s: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = json.load(response)
            states = {h["id"]: h["state"] for h in body["hotspots"]}
            if len(states) == count and "unknown" not in states.values():
                return states
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"the monitor did not report {count} known states in time: {states}")
