"""Benchmark: SNMP monitor cycles over 200, 1000 and 2000 simulated access points.

The access points are endpoints of Debian's snmpd (a C agent) on loopback: ``PORTS`` UDP
ports, each shared by many "access points" (one hotspot = one port; they all report this
machine's interfaces, CPU and memory, plus three NET-SNMP ``extend`` wireless figures as the
``openwrt`` profile reads them). snmpsim, used by the tests, answers only tens of requests
per second on these 2 cores: it would measure itself, not the monitor.

For each size the full monitor cycle runs (poll with bounded concurrency, rates, health,
SQLite store) ``CYCLES`` times: the first walks every device with GETBULK (discovery), the
next ones GET the walked instances. Printed per size: the walk cycle time, the steady cycle
time p50/p95, polls per second, CPU time per cycle and peak RSS of the monitor (with its
worker processes), failed polls and the kernel's UDP receive errors. The baseline, measured
in the same run on a few APs, is a naive poller: sequential pysnmp ``get_cmd`` with MIB
resolution, one GET per OID. Target: 2000 APs in a 60 s cycle with p95 ≤ 20 s, RSS ≤ 200 MB
and no UDP drops on 2 cores (which snmpd shares).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from villenum.hotspots.health import HealthConfig
from villenum.hotspots.inventory import Hotspot
from villenum.hotspots.monitor import Monitor, MonitorConfig
from villenum.hotspots.snmp import IF_COLUMNS, SYS_UPTIME, PollerOptions
from villenum.hotspots.store import Store

SIZES = (200, 1000, 2000)
PORTS = 8
CYCLES = 4
BASELINE_APS = 5


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_errors() -> int:
    """System-wide UDP receive errors (buffer overflows included) from /proc/net/snmp."""
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()
             if line.startswith("Udp:")]  # fmt: skip
    header, values = lines[0], lines[1]
    return int(values[header.index("InErrors")]) + int(values[header.index("RcvbufErrors")])


SNMPD_CONF = """agentAddress {addresses}
rocommunity public 127.0.0.1
extend wifi-clients /bin/echo 17
extend wifi-chanutil /bin/echo 35
extend wifi-noise /bin/echo -92
"""


def start_simulators(
    workdir: Path, count: int
) -> tuple[list[subprocess.Popen[bytes]], list[tuple[int, str]]]:
    """One snmpd listening on ``PORTS`` loopback ports; ``count`` (port, community) APs."""
    ports = [free_udp_port() for _ in range(PORTS)]
    conf = workdir / "snmpd.conf"
    conf.write_text(SNMPD_CONF.format(addresses=",".join(f"udp:127.0.0.1:{p}" for p in ports)))
    snmpd = shutil.which("snmpd") or "/usr/sbin/snmpd"
    proc = subprocess.Popen(
        [snmpd, "-f", "-C", "-c", str(conf), "-Lf", str(workdir / "snmpd.log"),
         "-p", str(workdir / "snmpd.pid")],
        env={**os.environ, "SNMP_PERSISTENT_DIR": str(workdir / "persist"), "MIBS": ""},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return [proc], [(ports[i % PORTS], f"ap{i:05d}") for i in range(count)]


def hotspots_for(endpoints: list[tuple[int, str]], n: int) -> list[Hotspot]:
    return [
        Hotspot(f"ap{i:05d}", f"AP {i}", 43.48, -1.55, address="127.0.0.1", port=port,
                community="public", vendor_profile="openwrt")
        for i, (port, _) in enumerate(endpoints[:n])
    ]  # fmt: skip


async def wait_ready(hotspots: list[Hotspot]) -> None:
    """Poll until every simulator answers (they index their data files first)."""
    from villenum.hotspots.snmp import SnmpPoller

    poller = SnmpPoller(PollerOptions(timeout_s=2.0, retries=0, deadline_s=5.0, probe=False))
    ports = {h.port: h for h in hotspots}
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        samples = await poller.poll_many(list(ports.values()))
        if all(s.ok for s in samples):
            return
        await asyncio.sleep(1.0)
    raise SystemExit("simulators never became ready")


def process_tree(exclude: set[int]) -> list[psutil.Process]:
    """This process and its children except the agents (i.e. the polling workers)."""
    me = psutil.Process()
    return [me] + [c for c in me.children(recursive=True) if c.pid not in exclude]


def run_cycles(hotspots: list[Hotspot], db: Path, simulators: set[int]) -> dict[str, float]:
    processes = 1 if len(hotspots) < 1000 else 2  # one event loop is CPU-bound beyond ~1000
    config = MonitorConfig(
        interval_s=60.0,
        poller=PollerOptions(timeout_s=2.0, retries=2, deadline_s=20.0, concurrency=50,
                             probe=False, processes=processes),
        health=HealthConfig(interval_s=60.0),
    )  # fmt: skip
    errors_before = udp_errors()
    times, failed, cpu, rss = [], 0, 0.0, 0.0

    async def cycles() -> None:
        nonlocal failed, cpu, rss
        monitor = Monitor(hotspots, Store(db), config)
        try:
            for _ in range(CYCLES):
                before = {p.pid: sum(p.cpu_times()[:2]) for p in process_tree(simulators)}
                start = time.perf_counter()
                statuses = await monitor.cycle()
                times.append(time.perf_counter() - start)
                tree = process_tree(simulators)
                cpu += sum(sum(p.cpu_times()[:2]) - before.get(p.pid, 0.0) for p in tree)
                rss = max(rss, sum(p.memory_info().rss for p in tree) / 2**20)
                failed += sum(1 for s in statuses if s["metrics"]["reason_code"] != "ok")
        finally:
            monitor.close()

    asyncio.run(cycles())
    steady = sorted(times[1:])  # the first cycle walks every device (discovery)
    return {
        "processes": processes,
        "first": times[0],
        "p50": statistics.median(steady),
        "p95": steady[min(len(steady) - 1, round(0.95 * (len(steady) - 1)))],
        "polls_per_s": len(hotspots) / statistics.median(steady),
        "cpu_s_per_cycle": cpu / CYCLES,
        "rss_mb": rss,
        "failed": failed,
        "udp_errors": udp_errors() - errors_before,
    }


def naive_seconds_per_ap(hotspots: list[Hotspot]) -> float:
    """The naive way: one pysnmp hlapi GET per OID (with MIB resolution), sequentially."""
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        get_cmd,
    )

    oids = [f"{SYS_UPTIME}.0"] + [f"{col}.{i}" for col in IF_COLUMNS.values() for i in (1, 2, 3)]

    async def naive() -> float:
        engine = SnmpEngine()
        start = time.perf_counter()
        for h in hotspots:
            target = await UdpTransportTarget.create((h.address, h.port), timeout=2, retries=1)
            for oid in oids:
                await get_cmd(engine, CommunityData(h.community, mpModel=1), target, ContextData(),
                              ObjectType(ObjectIdentity(oid)))  # fmt: skip
        return (time.perf_counter() - start) / len(hotspots)

    return asyncio.run(naive())


def main() -> None:
    # this machine's CPU is busy during the run: every simulated AP reports it; don't print
    # thousands of "degraded" alerts
    logging.getLogger("villenum").setLevel(logging.ERROR)
    sizes = tuple(int(a) for a in sys.argv[1:]) or SIZES  # e.g. `bench_monitor.py 200` to try
    workdir = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    procs, endpoints = start_simulators(workdir, max(sizes))
    try:
        everything = hotspots_for(endpoints, max(sizes))
        t0 = time.perf_counter()
        asyncio.run(wait_ready(everything))
        print(f"snmpd ready on {PORTS} ports for {max(sizes)} APs "
              f"in {time.perf_counter() - t0:.0f} s")  # fmt: skip
        naive = naive_seconds_per_ap(everything[:BASELINE_APS])
        print(f"naive sequential GET-per-OID baseline: {naive:.2f} s per AP", flush=True)
        print(f"{'APs':>5} {'procs':>5} {'walk s':>7} {'p50 s':>7} {'p95 s':>7} {'polls/s':>8} "
              f"{'CPU s':>6} {'RSS MB':>6} {'failed':>6} {'UDP err':>7} {'vs naive':>9}",
              flush=True)  # fmt: skip
        sims = {p.pid for p in procs}
        for n in sizes:
            r = run_cycles(everything[:n], workdir / f"monitor{n}.db", sims)
            ratio = naive * n / r["p50"]
            print(f"{n:>5} {r['processes']:>5} {r['first']:>7.1f} {r['p50']:>7.1f} "
                  f"{r['p95']:>7.1f} {r['polls_per_s']:>8.0f} {r['cpu_s_per_cycle']:>6.1f} "
                  f"{r['rss_mb']:>6.0f} {r['failed']:>6d} {r['udp_errors']:>7d} {ratio:>8.0f}x",
                  flush=True)  # fmt: skip
        print(
            "walk s: first cycle (GETBULK discovery of every AP); p50/p95: the following cycles"
            " (GET of the walked instances); CPU s and RSS: monitor process and its workers,"
            " per cycle; targets for 2000 APs: p95 <= 20 s, RSS <= 200 MB, no UDP errors."
            " snmpd shares the same cores."
        )
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
