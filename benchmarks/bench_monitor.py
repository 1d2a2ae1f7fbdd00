"""Benchmark: SNMP monitor cycles over 200, 1000 and 2000 simulated access points.

The access points are endpoints of Debian's snmpd (a C agent) on loopback: ``PORTS`` UDP
ports, each shared by many "access points", each at an address of its own in 127.1.0.0/16 as
in the field (the poller keeps one SNMP target per address). They all report this machine's
interfaces, CPU and memory, plus three NET-SNMP ``extend`` wireless figures as the
``openwrt`` profile reads them. snmpsim, used by the tests, answers only tens of requests
per second on these 2 cores: it would measure itself, not the monitor.

Each size runs in a fresh process, as ``villenum monitor run`` would: the package's
``Monitor`` (poll with bounded concurrency, worker processes beyond 1000 APs, rates, health,
SQLite store) for ``CYCLES`` cycles; the first walks every device with GETBULK (discovery),
the next ones GET the walked instances. Between cycles the monitor waits for this script,
which meanwhile reads the CPU time and memory of the monitor's process tree (the monitor and
its polling workers); a sampler thread also records the
peak RSS during the cycles. The readiness check and the baseline run in processes of their
own so that nothing of theirs is counted. The baseline is a naive poller: sequential pysnmp
``get_cmd`` with MIB resolution, one GET per OID, on a few APs.

Printed per size: the walk cycle time, the steady cycle time p50/p95, polls per second, CPU
time per steady cycle, peak RSS summed over the tree (shared pages counted in every process),
PSS and USS sums (shared pages split or left out), failed polls, the kernel's UDP receive
errors during the run and whether the monitor printed anything on stderr (a clean shutdown
prints nothing). Target: 2000 APs in a 60 s cycle with p95 ≤ 20 s, RSS ≤ 200 MB and no UDP
errors on 2 cores (which snmpd shares).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SIZES = (200, 1000, 2000)
PORTS = 8
CYCLES = 4
BASELINE_APS = 5
HERE = Path(__file__).resolve().parent


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_errors() -> int:
    """System-wide UDP receive errors from /proc/net/snmp.

    ``InErrors`` already counts the datagrams dropped for a full receive buffer (the kernel
    increments both it and ``RcvbufErrors``): adding the two would count each drop twice.
    """
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()
             if line.startswith("Udp:")]  # fmt: skip
    header, values = lines[0], lines[1]
    return int(values[header.index("InErrors")])


SNMPD_CONF = """agentAddress {addresses}
rocommunity public 127.0.0.0/8
extend wifi-clients /bin/echo 17
extend wifi-chanutil /bin/echo 35
extend wifi-noise /bin/echo -92
"""


def start_simulator(workdir: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    """One snmpd listening on ``PORTS`` loopback ports."""
    ports = [free_udp_port() for _ in range(PORTS)]
    conf = workdir / "snmpd.conf"
    # every address of 127.0.0.0/8 reaches loopback: each AP gets its own (see hotspots_for);
    # the community only answers loopback sources
    conf.write_text(SNMPD_CONF.format(addresses=",".join(f"udp:0.0.0.0:{p}" for p in ports)))
    snmpd = shutil.which("snmpd") or "/usr/sbin/snmpd"
    proc = subprocess.Popen(
        [snmpd, "-f", "-C", "-c", str(conf), "-Lf", str(workdir / "snmpd.log"),
         "-p", str(workdir / "snmpd.pid")],
        env={**os.environ, "SNMP_PERSISTENT_DIR": str(workdir / "persist"), "MIBS": ""},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return proc, ports


# --- run in child processes (``python -c``: spawned workers re-import nothing of this script)


def hotspots_for(ports: list[int], n: int) -> list[Any]:
    """``n`` access points spread over the snmpd ports, each at its own loopback address.

    Distinct addresses as in the field: the poller configures one SNMP target per address
    (memory and CPU a benchmark of a handful of addresses would not show).
    """
    from villenum.hotspots.inventory import Hotspot

    return [
        Hotspot(f"ap{i:05d}", f"AP {i}", 43.48, -1.55, address=f"127.1.{i // 250}.{i % 250 + 1}",
                port=ports[i % len(ports)], community="public", vendor_profile="openwrt")
        for i in range(n)
    ]  # fmt: skip


def child_ready(ports: list[int]) -> None:
    """Poll one AP per port until snmpd answers on all of them."""
    from villenum.hotspots.snmp import PollerOptions, poll_hotspots

    options = PollerOptions(timeout_s=2.0, retries=0, deadline_s=5.0, probe=False)
    deadline = time.monotonic() + 60
    while not all(s.ok for s in poll_hotspots(hotspots_for(ports, len(ports)), options)):
        if time.monotonic() > deadline:
            raise SystemExit("snmpd never became ready")
        time.sleep(0.5)


def child_naive(ports: list[int]) -> None:
    """The naive way: one pysnmp hlapi GET per OID (with MIB resolution), sequentially."""
    import asyncio

    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        get_cmd,
    )

    from villenum.hotspots.snmp import IF_COLUMNS, SYS_UPTIME

    oids = [f"{SYS_UPTIME}.0"] + [f"{col}.{i}" for col in IF_COLUMNS.values() for i in (1, 2, 3)]

    async def naive() -> float:
        engine = SnmpEngine()
        start = time.perf_counter()
        for h in hotspots_for(ports, BASELINE_APS):
            target = await UdpTransportTarget.create((h.address, h.port), timeout=2, retries=1)
            for oid in oids:
                await get_cmd(engine, CommunityData(h.community, mpModel=1), target, ContextData(),
                              ObjectType(ObjectIdentity(oid)))  # fmt: skip
        seconds = (time.perf_counter() - start) / BASELINE_APS
        engine.close_dispatcher()
        return seconds

    print(json.dumps({"s_per_ap": asyncio.run(naive())}), flush=True)


def child_monitor(ports: list[int], n: int, db: str) -> None:
    """``CYCLES`` monitor cycles; after each, report and wait for a line on stdin."""
    import asyncio
    import logging

    from villenum.hotspots.health import HealthConfig
    from villenum.hotspots.monitor import Monitor, MonitorConfig
    from villenum.hotspots.snmp import PollerOptions
    from villenum.hotspots.store import Store

    # this machine's CPU is busy during the run and every simulated AP reports it: don't log
    # thousands of "degraded" transitions
    logging.getLogger("villenum").setLevel(logging.ERROR)
    processes = 1 if n < 1000 else 2  # one event loop is CPU-bound beyond ~1000 APs
    config = MonitorConfig(
        interval_s=60.0,
        poller=PollerOptions(timeout_s=2.0, retries=2, deadline_s=20.0, concurrency=50,
                             probe=False, processes=processes),
        health=HealthConfig(interval_s=60.0),
    )  # fmt: skip

    async def cycles() -> None:
        monitor = Monitor(hotspots_for(ports, n), Store(db), config)
        try:
            for _ in range(CYCLES):
                start = time.perf_counter()
                statuses = await monitor.cycle()
                seconds = time.perf_counter() - start
                failed = sum(1 for s in statuses if s["metrics"]["reason_code"] != "ok")
                print(json.dumps({"s": seconds, "failed": failed, "processes": processes}),
                      flush=True)  # fmt: skip
                await asyncio.to_thread(sys.stdin.readline)
        finally:
            await monitor.aclose()

    asyncio.run(cycles())


def in_child(call: str, **popen: Any) -> subprocess.Popen[str]:
    """Run ``bench_monitor.<call>`` in a fresh interpreter."""
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import bench_monitor as b; b.{call}"
    return subprocess.Popen([sys.executable, "-c", code], text=True, **popen)


# --- the measuring side


class TreeSampler(threading.Thread):
    """Peak RSS summed over a process and its descendants, sampled every 0.2 s."""

    def __init__(self, root: Any) -> None:
        super().__init__(daemon=True)
        self.root, self.peak_rss, self.stop = root, 0, threading.Event()

    def tree(self) -> list[Any]:
        import psutil

        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def run(self) -> None:
        import psutil

        while not self.stop.wait(0.2):
            total = 0
            for p in self.tree():
                try:
                    total += p.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            self.peak_rss = max(self.peak_rss, total)


def run_size(ports: list[int], n: int, db: Path) -> dict[str, Any]:
    """One monitor process over ``n`` APs; its cycle times, CPU and memory."""
    import psutil

    errors_before = udp_errors()
    with tempfile.TemporaryFile("w+") as stderr:
        proc = in_child(f"child_monitor({ports!r}, {n}, {str(db)!r})", stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, stderr=stderr)  # fmt: skip
        sampler = TreeSampler(psutil.Process(proc.pid))
        sampler.start()
        times, failed, cpu, pss, uss, processes, detail = [], 0, [], 0, 0, 1, ""
        assert proc.stdout is not None and proc.stdin is not None
        for line in proc.stdout:
            result = json.loads(line)
            times.append(result["s"])
            failed += result["failed"]
            processes = result["processes"]
            tree = sampler.tree()
            cpu.append(sum(sum(p.cpu_times()[:2]) for p in tree))
            infos = [(p, p.memory_full_info()) for p in tree]
            pss = max(pss, sum(i.pss for _, i in infos))
            uss = max(uss, sum(i.uss for _, i in infos))
            detail = " + ".join(f"{_role(p, proc.pid)} {i.rss / 2**20:.0f}/{i.pss / 2**20:.0f}"
                                for p, i in infos)  # fmt: skip
            proc.stdin.write("\n")
            proc.stdin.flush()
        proc.wait(60)
        sampler.stop.set()
        sampler.join()
        stderr.seek(0)
        noise = stderr.read().strip()
    if proc.returncode != 0 or len(times) != CYCLES:
        raise SystemExit(f"the monitor failed at {n} APs:\n{noise}")
    steady = sorted(times[1:])  # the first cycle walks every device (discovery)
    return {
        "processes": processes,
        "first": times[0],
        "p50": statistics.median(steady),
        "p95": steady[min(len(steady) - 1, round(0.95 * (len(steady) - 1)))],
        "polls_per_s": n / statistics.median(steady),
        "cpu_s": statistics.median(b - a for a, b in itertools.pairwise(cpu)),
        "rss_mb": max(sampler.peak_rss, 0) / 2**20,
        "pss_mb": pss / 2**20,
        "uss_mb": uss / 2**20,
        "failed": failed,
        "udp_errors": udp_errors() - errors_before,
        "stderr": noise,
        "detail": detail,
    }


def _role(process: Any, root: int) -> str:
    if process.pid == root:
        return "monitor"
    return "worker" if "_snmp_workers" in " ".join(process.cmdline()) else "other"


def main() -> None:
    sizes = tuple(int(a) for a in sys.argv[1:]) or SIZES  # e.g. `bench_monitor.py 200` to try
    workdir = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    snmpd, ports = start_simulator(workdir)
    try:
        t0 = time.perf_counter()
        errors_before = udp_errors()
        if in_child(f"child_ready({ports!r})").wait() != 0:
            raise SystemExit("snmpd never became ready")
        print(f"snmpd ready on {PORTS} ports in {time.perf_counter() - t0:.1f} s "
              f"({udp_errors() - errors_before} UDP errors meanwhile)")  # fmt: skip
        naive = in_child(f"child_naive({ports!r})", stdout=subprocess.PIPE)
        naive_s = json.loads(naive.communicate()[0])["s_per_ap"]
        print(f"naive sequential GET-per-OID baseline: {naive_s:.2f} s per AP", flush=True)
        print(f"{'APs':>5} {'procs':>5} {'walk s':>7} {'p50 s':>7} {'p95 s':>7} {'polls/s':>8} "
              f"{'CPU s':>6} {'RSS MB':>6} {'PSS MB':>6} {'USS MB':>6} {'failed':>6} "
              f"{'UDP err':>7} {'stderr':>6} {'vs naive':>9}", flush=True)  # fmt: skip
        details = []
        for n in sizes:
            r = run_size(ports, n, workdir / f"monitor{n}.db")
            print(f"{n:>5} {r['processes']:>5} {r['first']:>7.1f} {r['p50']:>7.1f} "
                  f"{r['p95']:>7.1f} {r['polls_per_s']:>8.0f} {r['cpu_s']:>6.1f} "
                  f"{r['rss_mb']:>6.0f} {r['pss_mb']:>6.0f} {r['uss_mb']:>6.0f} "
                  f"{r['failed']:>6d} {r['udp_errors']:>7d} "
                  f"{'clean' if not r['stderr'] else 'NOISY':>6} "
                  f"{naive_s * n / r['p50']:>8.0f}x", flush=True)  # fmt: skip
            details.append(f"{n:>5} APs, RSS/PSS MB per process: {r['detail']}")
            if r["stderr"]:
                details.append(f"      the monitor's stderr: {r['stderr'][:2000]}")
        print("\n".join(details))
        print(
            "walk s: first cycle (GETBULK discovery of every AP); p50/p95: the following cycles"
            " (GET of the walked instances); CPU s: one steady cycle, whole process tree; RSS:"
            " peak sum over the tree; PSS/USS: sums after a cycle. Targets for 2000 APs:"
            " p95 <= 20 s, RSS <= 200 MB, no UDP errors. snmpd shares the same cores."
        )
    finally:
        snmpd.send_signal(signal.SIGTERM)
        try:
            snmpd.wait(10)
        except subprocess.TimeoutExpired:
            snmpd.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
