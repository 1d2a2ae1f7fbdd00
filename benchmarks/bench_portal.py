"""Benchmark: the hotspot gateway under a crowd, in network namespaces (needs root).

N clients (N = 50 and 500), each in its own namespace on the LAN bridge, load the splash and
accept at the same moment; each then polls the Android probe through the gateway until it
gets its exact online answer (204). Printed:

* accept → first online probe latency, p50 and p95 (target p95 ≤ 200 ms; openNDS's remote
  portal mode can take up to 5 s), against the baseline of one probe round trip of an
  already-online client measured in the same run;
* nft update time: N elements in one grouped transaction (what the gateway does when
  accepts arrive together) against one ``nft`` process per element;
* splash requests/s under cheroot (the production server ``gateway run`` uses) against
  Werkzeug's threaded development server, both on loopback in separate processes.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.gateway.conftest import INTERNET, PORTAL, Lab, http_get, in_netns  # noqa: E402

SIZES = (50, 500)
PROBE = ("connectivitycheck.gstatic.com", "/generate_204")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def one_client(lab: Lab, client: str, barrier: threading.Barrier) -> float:
    """Splash, wait for everyone, accept, poll the probe until online; return the latency."""

    def work() -> float:
        _, _, body = http_get(PORTAL, "/", port=8080, timeout=30)
        token = re.search(rb'name="token" value="([^"]+)"', body).group(1).decode()
        barrier.wait()
        start = time.perf_counter()
        status, _, _ = http_get(
            PORTAL, "/accept", port=8080, method="POST", timeout=30,
            body=f"token={token}", headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 303, status
        while True:
            status, _, _ = http_get(INTERNET, PROBE[1], PROBE[0], timeout=5)
            if status == 204:
                return time.perf_counter() - start
            time.sleep(0.005)

    return in_netns(client, work)


def crowd(lab: Lab, clients: list[str]) -> list[float]:
    barrier = threading.Barrier(len(clients))
    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(lambda c: one_client(lab, c, barrier), clients))


def probe_round_trip(lab: Lab, client: str) -> float:
    def work() -> float:
        times = []
        for _ in range(20):
            start = time.perf_counter()
            http_get(INTERNET, PROBE[1], PROBE[0])
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    return in_netns(client, work)


def nft_update_times(lab: Lab, n: int) -> tuple[float, float]:
    """Seconds to add n elements: one grouped transaction, then one nft process each."""
    elements = [f"02:00:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x} . "
                f"10.99.{i >> 8 & 255}.{i & 255}" for i in range(n)]
    batch = "".join(f"add element inet villenum clients {{ {e} timeout 60s }}\n"
                    for e in elements)
    start = time.perf_counter()
    subprocess.run(["ip", "netns", "exec", lab.gw, "nft", "-f", "-"], input=batch, text=True,
                   check=True)
    grouped = time.perf_counter() - start
    flush = "".join(f"delete element inet villenum clients {{ {e} }}\n" for e in elements)
    subprocess.run(["ip", "netns", "exec", lab.gw, "nft", "-f", "-"], input=flush, text=True,
                   check=True)
    start = time.perf_counter()
    for e in elements[:50]:
        subprocess.run(["ip", "netns", "exec", lab.gw, "nft", "-f", "-"], check=True, text=True,
                       input=f"add element inet villenum clients {{ {e} timeout 60s }}\n")
    single = (time.perf_counter() - start) / 50 * n
    return grouped, single


SERVER = """
import sys, tempfile
from pathlib import Path
from villenum.hotspots.gateway_config import GatewaySettings
from villenum.portal.app import create_app
settings = GatewaySettings(lan_interface="lo", wan_interface="lo", portal_address="127.0.0.1",
                           portal_port=int(sys.argv[2]), state_dir=Path(tempfile.mkdtemp()))
app = create_app(settings)
if sys.argv[1] == "cheroot":
    from cheroot import wsgi
    wsgi.Server(("127.0.0.1", int(sys.argv[2])), app, numthreads=16).safe_start()
else:
    from werkzeug.serving import run_simple
    run_simple("127.0.0.1", int(sys.argv[2]), app, threaded=True)
"""


def splash_rps(kind: str, port: int, seconds: float = 4.0, workers: int = 8) -> float:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, kind, str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                http_get("127.0.0.1", "/", port=port, timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        stop = time.monotonic() + seconds
        counts = []

        def hammer() -> None:
            n = 0
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            while time.monotonic() < stop:
                conn.request("GET", "/?lang=fr")
                response = conn.getresponse()
                response.read()
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                n += 1
            counts.append(n)

        threads = [threading.Thread(target=hammer) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(counts) / seconds
    finally:
        proc.terminate()
        proc.wait()


def main() -> int:
    if os.geteuid() != 0 or not shutil.which("nft"):
        print("bench_portal: skipped (needs root, ip netns and nftables)")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="bench-portal-"))
    lab = Lab(tmp, clients=max(SIZES) + 1)
    try:
        t0 = time.perf_counter()
        lab.build()
        print(f"lab: {len(lab.clients)} client namespaces in {time.perf_counter() - t0:.1f} s")
        for n in SIZES:
            shutil.rmtree(lab.state, ignore_errors=True)
            lab.start_gateway(lab.config())
            latencies = crowd(lab, lab.clients[1:n + 1])
            baseline = probe_round_trip(lab, lab.clients[1])
            p50, p95 = percentile(latencies, 50) * 1000, percentile(latencies, 95) * 1000
            print(f"N={n:4d} accept → online: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
                  f"(target p95 ≤ 200 ms: {'met' if p95 <= 200 else 'MISSED'}; "
                  f"{p95 / (baseline * 1000):.1f}× a probe round trip of "
                  f"{baseline * 1000:.1f} ms; openNDS remote portal up to 5000 ms)")
            grouped, single = nft_update_times(lab, n)
            print(f"N={n:4d} nft update: {grouped * 1000:6.1f} ms grouped vs "
                  f"{single * 1000:7.1f} ms one process per element "
                  f"(ratio {single / grouped:.1f}×)")
            lab.stop_gateway()
    finally:
        lab.destroy()
        shutil.rmtree(tmp, ignore_errors=True)
    cheroot = splash_rps("cheroot", 18081)
    werkzeug = splash_rps("werkzeug", 18082)
    print(f"splash: {cheroot:7.0f} req/s cheroot vs {werkzeug:7.0f} req/s Werkzeug dev server "
          f"(ratio {cheroot / werkzeug:.2f}×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
