"""A real hotspot in network namespaces: a fake Internet, the gateway, clients on a LAN bridge.

::

    [vn-i*] fake Internet 198.51.100.1 (HTTP probes, DNS)
        | veth up0 -- wan0
    [vn-g*] gateway: `villenum gateway run` (nftables, portal 10.77.0.1:8080, dnsmasq)
        | bridge br0 10.77.0.1/22
        +-- c1* -- [vn-c1*] eth0 10.77.0.11
        +-- c2* -- [vn-c2*] eth0 10.77.0.12

Client code runs in the client's namespace from a thread that called setns(2), so the tests
speak plain sockets. Every namespace is deleted at the end.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

is_root = os.geteuid() == 0
needs_root = pytest.mark.skipif(
    not is_root or not shutil.which("nft"), reason="needs root, ip netns and nftables"
)
VILLENUM = str(Path(sys.executable).with_name("villenum"))
INTERNET = "198.51.100.1"
PORTAL = "10.77.0.1"
_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


def in_netns(ns: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn(*args)`` in a thread moved into network namespace ``ns``; return its result."""
    box: dict[str, Any] = {}

    def target() -> None:
        fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns {ns}")
            box["value"] = fn(*args)
        except BaseException as exc:  # handed back to the caller
            box["error"] = exc
        finally:
            os.close(fd)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def http_get(
    ip: str,
    path: str = "/",
    host: str | None = None,
    port: int = 80,
    timeout: float = 3.0,
    method: str = "GET",
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request (no redirect following); raises OSError when blocked."""
    conn = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        hdrs = {"Host": host or ip, "Connection": "close", **(headers or {})}
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def dns_query(name: str, server: str, timeout: float = 2.0) -> list[str]:
    """The A records for ``name`` from ``server``; raises OSError/timeout when blocked."""
    from dnslib import QTYPE, DNSRecord

    answer = DNSRecord.parse(DNSRecord.question(name).send(server, 53, timeout=timeout))
    return [str(rr.rdata) for rr in answer.rr if rr.rtype == QTYPE.A]


def tcp_connects(ip: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=timeout):
            return True
    except OSError:
        return False


class Lab:
    """The namespaces, the fake Internet and the gateway process."""

    def __init__(self, tmp: Path, clients: int = 2) -> None:
        sfx = secrets.token_hex(3)
        self.inet, self.gw = f"vn-i{sfx}", f"vn-g{sfx}"
        self.clients = [f"vn-c{i + 1}{sfx}" for i in range(clients)]
        self.tmp = tmp
        self.state = tmp / "state"
        self.procs: list[subprocess.Popen[Any]] = []
        self.gateway: subprocess.Popen[Any] | None = None
        self.log = tmp / "gateway.log"
        self.client_ips: dict[str, str] = {}

    # -- topology --------------------------------------------------------------------------
    def build(self) -> None:
        for ns in [self.inet, self.gw]:
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh(
            "ip",
            "link",
            "add",
            "up0",
            "netns",
            self.inet,
            "type",
            "veth",
            "peer",
            "name",
            "wan0",
            "netns",
            self.gw,
        )
        sh("ip", "-n", self.inet, "addr", "add", f"{INTERNET}/24", "dev", "up0")
        sh("ip", "-n", self.inet, "addr", "add", "198.51.100.7/24", "dev", "up0")
        sh("ip", "-n", self.inet, "link", "set", "up0", "up")
        sh("ip", "-n", self.gw, "addr", "add", "198.51.100.2/24", "dev", "wan0")
        sh("ip", "-n", self.gw, "link", "set", "wan0", "up")
        sh("ip", "-n", self.gw, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.gw, "addr", "add", f"{PORTAL}/22", "dev", "br0")
        sh("ip", "-n", self.gw, "link", "set", "br0", "up")
        with ThreadPoolExecutor(8) as pool:  # hundreds of clients for the benchmark
            list(pool.map(self._add_client, range(len(self.clients)), self.clients))
        fake = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                self.inet,
                sys.executable,
                str(Path(__file__).with_name("_fake_internet.py")),
                INTERNET,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.procs.append(fake)
        assert fake.stdout is not None and fake.stdout.readline().strip() == "ready"

    def _add_client(self, i: int, ns: str) -> None:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        port = f"c{i + 1}"
        sh(
            "ip",
            "link",
            "add",
            port,
            "netns",
            self.gw,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            ns,
        )
        sh("ip", "-n", self.gw, "link", "set", port, "master", "br0")
        sh("ip", "-n", self.gw, "link", "set", port, "up")
        ip = f"10.77.{(11 + i) // 256}.{(11 + i) % 256}"
        self.client_ips[ns] = ip
        sh("ip", "-n", ns, "addr", "add", f"{ip}/22", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "route", "add", "default", "via", PORTAL)
        # `ip netns exec` mounts this over /etc/resolv.conf: the client uses the hotspot DNS
        etc = Path("/etc/netns", ns)
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text(f"nameserver {PORTAL}\n")

    def destroy(self) -> None:
        self.stop_gateway()
        for proc in self.procs:
            proc.kill()
            proc.wait()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(self._delete_netns, [self.inet, self.gw, *self.clients]))

    @staticmethod
    def _delete_netns(ns: str) -> None:
        for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)
        sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(Path("/etc/netns", ns), ignore_errors=True)

    # -- the gateway -----------------------------------------------------------------------
    def config(self, session_timeout_s: int = 600, **extra: int) -> Path:
        path = self.tmp / f"gateway-{session_timeout_s}-{len(extra)}.toml"
        keys = {
            "lan_interface": '"br0"',
            "wan_interface": '"wan0"',
            "portal_address": f'"{PORTAL}"',
            "portal_port": 8080,
            "lan_cidr": '"10.77.0.0/22"',
            "session_timeout_s": session_timeout_s,
            "idle_timeout_s": 3600,
            "poll_interval_s": 0.5,
            "state_dir": f'"{self.state}"',
            "dnsmasq": "true",
            "dns_upstream": f'["{INTERNET}"]',
            "walled_garden_hosts": '["garden.example"]',
            "dhcp_range": '["10.77.0.100", "10.77.0.200"]',
            "venue_info_url": '"https://www.biarritz.fr/"',
        } | extra
        path.write_text("[gateway]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()))
        return path

    def start_gateway(self, config: Path, env: dict[str, str] | None = None) -> None:
        assert self.gateway is None
        command = ["ip", "netns", "exec", self.gw, VILLENUM, "-v", "gateway", "run", "--config"]
        self.gateway = subprocess.Popen(
            [*command, str(config)],
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.gateway.poll() is None, self.log.read_text()
            if in_netns(self.clients[0], tcp_connects, PORTAL, 8080, 0.5):
                return
            time.sleep(0.1)
        raise AssertionError("gateway did not start:\n" + self.log.read_text())

    def stop_gateway(self) -> int | None:
        if self.gateway is None:
            return None
        self.gateway.send_signal(signal.SIGTERM)
        try:
            code = self.gateway.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.gateway.kill()
            code = self.gateway.wait()
        self.gateway = None
        return code

    def nft(self, *args: str) -> str:
        return sh("ip", "netns", "exec", self.gw, "nft", *args, check=False).stdout

    def run(self, client: str, fn: Callable[..., Any], *args: Any) -> Any:
        return in_netns(client, fn, *args)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Lab]:
    if not is_root:
        pytest.skip("needs root for network namespaces")
    lab = Lab(tmp_path_factory.mktemp("lab"), getattr(request.module, "CLIENTS", 2))
    try:
        lab.build()
        yield lab
    finally:
        lab.destroy()
