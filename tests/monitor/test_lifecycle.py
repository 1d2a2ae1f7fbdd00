"""Worker processes and SNMP engines: started cheaply, stopped cleanly, sockets sized for bursts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from villenum.hotspots import _snmp_engine
from villenum.hotspots.inventory import validate_hotspots, write_inventory
from villenum.hotspots.snmp import PollerOptions, SnmpPoller

from .conftest import ap_records, free_udp_port, is_root


def aps(port: int, count: int) -> list[dict[str, Any]]:
    return [{"id": f"ap-{i}", "name": f"AP {i}", "lat": 43.4832, "lon": -1.5586,
             "address": "127.0.0.1", "port": port, "community": "public",
             "vendor_profile": "openwrt"} for i in range(count)]  # fmt: skip


def test_poll_with_worker_processes_shuts_down_without_noise(
    snmpsim_factory: Any, tmp_path: Path
) -> None:
    sim = snmpsim_factory({"public": ap_records()})
    inventory = write_inventory(aps(sim.port, 6), tmp_path / "inventory.toml")
    done = subprocess.run(
        [sys.executable, "-m", "villenum", "monitor", "poll", "--once", "--json",
         "--processes", "2", "--timeout", "2", "--inventory", str(inventory),
         "--db", str(tmp_path / "m.db")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    statuses = json.loads(done.stdout)["hotspots"]
    assert [s["metrics"]["reason_code"] for s in statuses] == ["ok"] * 6
    # pysnmp's timer tasks are awaited before the workers' loops close
    assert "Task was destroyed" not in done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


def test_run_with_workers_stops_cleanly_when_the_whole_group_gets_sigterm(
    snmpsim_factory: Any, tmp_path: Path
) -> None:
    # systemd stops a service by sending SIGTERM to every process of its cgroup, and Ctrl-C
    # signals the whole process group: the workers must let the monitor finish and stop them
    sim = snmpsim_factory({"public": ap_records()})
    table = aps(sim.port, 4)
    table[3]["port"] = free_udp_port()  # a dead agent: every cycle lasts 4 s (2 s x 2 tries)
    inventory = write_inventory(table, tmp_path / "inventory.toml")
    proc = subprocess.Popen(
        [sys.executable, "-m", "villenum", "monitor", "run", "--processes", "2", "--timeout",
         "2", "--interval", "1", "--listen", "", "--inventory", str(inventory),
         "--db", str(tmp_path / "m.db")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        workers: list[psutil.Process] = []
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            workers = [p for p in psutil.Process(proc.pid).children()
                       if "_snmp_workers" in " ".join(p.cmdline())]  # fmt: skip
        assert len(workers) == 2, "the monitor never started its two workers"
        time.sleep(2.5)  # in the middle of the first cycle
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Task was destroyed" not in err
    for worker in workers:
        worker.wait(10)  # gone, not orphaned


def test_workers_do_not_rerun_a_script_without_main_guard(
    snmpsim_factory: Any, tmp_path: Path
) -> None:
    # multiprocessing's spawn would run this script again in every worker (which then fails
    # to start workers of its own while bootstrapping)
    sim = snmpsim_factory({"public": ap_records(clients=9)})
    script = tmp_path / "poll.py"
    script.write_text(
        "from villenum.hotspots.inventory import validate_hotspots\n"
        "from villenum.hotspots.snmp import PollerOptions, poll_hotspots\n"
        f"hotspots = validate_hotspots({aps(sim.port, 4)!r})\n"
        "options = PollerOptions(timeout_s=2.0, deadline_s=10.0, processes=2)\n"
        "print([s.clients for s in poll_hotspots(hotspots, options)])\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[9.0, 9.0, 9.0, 9.0]"]  # printed once: ran once
    assert done.stderr == ""


def test_the_socket_buffers_the_answers_in_flight(snmpsim_factory: Any) -> None:
    from pysnmp.carrier.asyncio.dgram import udp

    sim = snmpsim_factory({"public": ap_records()})
    hotspots = validate_hotspots(aps(sim.port, 1))
    concurrency = 64

    async def poll_and_look() -> tuple[bool, int, bool]:
        poller = SnmpPoller(PollerOptions(timeout_s=2.0, deadline_s=10.0,
                                          concurrency=concurrency))  # fmt: skip
        ok = (await poller.poll_many(hotspots))[0].ok
        engine = _snmp_engine.engine_for(hotspots[0]).engine
        transport = engine.transport_dispatcher.get_transport(udp.DOMAIN_NAME).transport
        size = transport.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        await poller.aclose()
        return ok, size, transport.is_closing()

    ok, size, closed = asyncio.run(poll_and_look())
    assert ok and closed
    default = int(Path("/proc/sys/net/core/rmem_default").read_text())
    # the kernel reports twice the size granted; root may exceed net.core.rmem_max
    assert size >= 2 * concurrency * 32 * 1024 if is_root else size > default


def test_an_unresolvable_name_fails_its_poll_only(snmpsim_factory: Any) -> None:
    sim = snmpsim_factory({"public": ap_records()})
    table = aps(sim.port, 2)
    table[1]["address"] = "ap-nowhere.invalid"  # RFC 2606: never resolves
    options = PollerOptions(timeout_s=2.0, deadline_s=10.0, probe=False)
    poller = SnmpPoller(options)

    async def twice() -> list[list[Any]]:
        try:
            return [await poller.poll_many(validate_hotspots(table)) for _ in range(2)]
        finally:
            await poller.aclose()

    for good, bad in asyncio.run(twice()):
        assert good.ok
        assert bad.reason == "resolve-failed" and "ap-nowhere.invalid" in bad.detail


def test_engines_of_loops_closed_without_aclose_are_released(snmpsim_factory: Any) -> None:
    # e.g. a Monitor cycled with asyncio.run() each time: one engine per loop would pile up
    sim = snmpsim_factory({"public": ap_records()})
    hotspots = validate_hotspots(aps(sim.port, 1))
    poller = SnmpPoller(PollerOptions(timeout_s=2.0, deadline_s=10.0, probe=False))
    sockets = []
    for _ in range(3):
        assert asyncio.run(poller.poll_many(hotspots))[0].ok
        sockets += [e.sock for entries in _snmp_engine._ENGINES.values() for e in entries]
    assert len(_snmp_engine._ENGINES) == 1
    assert [s.fileno() == -1 for s in sockets] == [True, True, False]  # the last loop's stays
    asyncio.run(poller.aclose())
