"""The hotspot gateway's enforcement: one nftables table, ``inet villenum``.

Authenticated devices are elements ``MAC . IPv4`` of the set ``clients``, each with a timeout
equal to the session length, so the kernel itself ends sessions. Everything else from the LAN
is captive: TCP 80 goes to the portal, DNS only to the gateway's own resolver, forwarding is
refused (foreign DNS, DNS-over-TLS on 853, HTTPS, IPv6) except to the walled garden.
Authenticated traffic is masqueraded on the WAN. IPv6 is not forwarded even after login: the
legal log identifies devices through the IPv4 NAT mapping, which IPv6 would bypass.

Every change is one ``nft -f -`` transaction, so the kernel never sees half a ruleset; the
text fed to nft is built only from the configuration and from addresses that have been
parsed and re-serialised here — never from request data.

References
----------
RFC 8952, "Captive Portal Architecture", section 2.3 (the Captive Portal Enforcement).
nftables wiki, "Sets" (element timeouts and counters) and "Atomic rule replacement".
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import re
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from villenum.errors import GatewayError
from villenum.hotspots._gw_nft import nft
from villenum.hotspots.gateway_config import GatewaySettings
from villenum.hotspots.sessions import Session

log = logging.getLogger(__name__)

TABLE = "villenum"
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


@dataclass(frozen=True)
class Element:
    """An authenticated device as the kernel sees it: counters since it was let in."""

    mac: str
    ip: str
    expires_s: float
    packets_up: int
    bytes_up: int


@functools.lru_cache(maxsize=4096)  # every accept checks the same device several times
def canonical_mac(mac: str) -> str:
    """``mac`` as lower-case ``aa:bb:cc:dd:ee:ff``.

    Raises
    ------
    GatewayError
        If ``mac`` is not a unicast Ethernet address.
    """
    text = str(mac).strip().lower().replace("-", ":")
    if not _MAC.match(text) or int(text[:2], 16) & 1:
        raise GatewayError(f"not a unicast MAC address: {mac!r}")
    return text


@functools.lru_cache(maxsize=4096)
def canonical_ipv4(ip: str) -> str:
    """``ip`` re-serialised by :mod:`ipaddress` (so nothing but an address reaches nft).

    Raises
    ------
    GatewayError
        If ``ip`` is not an IPv4 address.
    """
    try:
        return str(ipaddress.IPv4Address(str(ip)))
    except ValueError:
        raise GatewayError(f"not an IPv4 address: {ip!r}") from None


def ruleset(settings: GatewaySettings) -> str:
    """The ``inet villenum`` table as nft text, without any client.

    Parameters
    ----------
    settings
        Interfaces, portal address and port, LAN, walled garden and rate limit.

    Returns
    -------
    str
        A table definition for ``nft -f``.
    """
    lan, wan = settings.lan_interface, settings.wan_interface
    portal, port = canonical_ipv4(settings.portal_address), int(settings.portal_port)
    net = settings.lan_network
    garden = ", ".join(
        str(ipaddress.IPv4Network(n, strict=False)) for n in settings.walled_garden_ips
    )
    garden_elements = f"\n        elements = {{ {garden} }}" if garden else ""
    limit_up = limit_down = ""
    if settings.rate_limit_kbit_s:
        # a policer: packets over the rate (after a 1.5-second burst) are dropped, so it is a
        # hard ceiling on throughput, per device and per direction
        rate = settings.rate_limit_kbit_s * 125
        # the kernel's byte bucket holds one second of rate plus the burst: half a second more
        burst = rate // 2
        limit_up = (
            f'        iifname "{lan}" update @rate_up {{ ip saddr limit rate over {rate} '
            f"bytes/second burst {burst} bytes }} drop\n"
        )
        limit_down = (
            f'        oifname "{lan}" update @rate_down {{ ip daddr limit rate over {rate} '
            f"bytes/second burst {burst} bytes }} drop\n"
        )
    return f"""table inet {TABLE} {{
    set clients {{
        type ether_addr . ipv4_addr
        flags timeout
        counter
    }}
    set clients_down {{
        type ipv4_addr
        flags timeout
        counter
    }}
    set garden4 {{
        type ipv4_addr
        flags interval{garden_elements}
    }}
    set rate_up {{
        type ipv4_addr
        flags dynamic, timeout
        timeout 1m
    }}
    set rate_down {{
        type ipv4_addr
        flags dynamic, timeout
        timeout 1m
    }}

    chain prerouting {{
        type nat hook prerouting priority dstnat; policy accept;
        iifname "{lan}" ether saddr . ip saddr @clients return
        iifname "{lan}" ip daddr @garden4 return
        iifname "{lan}" ip daddr != {portal} tcp dport 80 dnat ip to {portal}:{port}
    }}

    chain input {{
        type filter hook input priority filter; policy accept;
        iifname != "{lan}" accept
        ct state established,related accept
        meta l4proto {{ tcp, udp }} th dport 53 accept
        udp dport 67 accept
        tcp dport {{ 80, {port} }} accept
        icmp type echo-request accept
        meta l4proto ipv6-icmp accept
        reject with icmpx type admin-prohibited
    }}

    chain forward {{
        type filter hook forward priority filter; policy drop;
{limit_up}        iifname "{lan}" ip saddr {net} ether saddr . ip saddr @clients accept
{limit_down}        oifname "{lan}" ct state established,related ip daddr @clients_down accept
        iifname "{lan}" ip daddr @garden4 accept
        oifname "{lan}" ct state established,related ip saddr @garden4 accept
        iifname "{lan}" reject with icmpx type admin-prohibited
    }}

    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname "{wan}" ip saddr {net} masquerade
    }}
}}
"""


def run_nft(batch: str) -> str:
    """Apply ``batch`` as one nftables transaction (``nft -f -``); return nft's output.

    Raises
    ------
    GatewayError
        If nftables is missing or refuses the batch (the message has its first error line).
    """
    return nft(batch)


def _list_set(name: str) -> list[dict]:
    """The elements of one of the table's sets, as nft's JSON objects."""
    out = nft(f"list set inet {TABLE} {name}\n", json_output=True)
    return [
        elem.get("elem", {})
        for item in json.loads(out or "{}").get("nftables", [])
        for elem in item.get("set", {}).get("elem", [])
    ]


class Gateway:
    """The nftables enforcement of one hotspot (an :class:`villenum.portal.app.Enforcer`).

    Parameters
    ----------
    settings
        The gateway settings.
    """

    needs_mac = True

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._forward_before: str | None = None
        self._pending: list[_Change] = []
        self._pending_lock = threading.Lock()
        self._nft_lock = threading.Lock()

    def install(self, sessions: Iterable[Session] = (), now_s: float | None = None) -> int:
        """Replace the table atomically and put the active sessions back (reconciliation).

        Parameters
        ----------
        sessions
            Active sessions from the store; those with a MAC and time left are restored.
        now_s
            Current Unix time (to compute each session's remaining timeout).

        Returns
        -------
        int
            The number of devices restored.
        """
        import time

        now = time.time() if now_s is None else now_s
        lines = [f"table inet {TABLE}", f"delete table inet {TABLE}", ruleset(self.settings)]
        restored = 0
        for s in sessions:
            remaining = int(s.expires_s - now)
            if s.mac and remaining > 0:
                lines += _add_lines(s.mac, s.ip, remaining)
                restored += 1
        self._sysctls()
        run_nft("\n".join(lines) + "\n")
        log.info("nftables table inet %s installed, %d device(s) restored", TABLE, restored)
        return restored

    def remove(self) -> None:
        """Delete the table (sessions stay in the store) and restore IPv4 forwarding."""
        run_nft(f"table inet {TABLE}\ndelete table inet {TABLE}\n")
        if self._forward_before is not None:
            _write_sysctl("net/ipv4/ip_forward", self._forward_before)

    def allow(self, mac: str | None, ip: str, timeout_s: float) -> None:
        """Let the device through for ``timeout_s`` seconds (refreshing an existing element)."""
        if mac is None:
            raise GatewayError(f"no MAC address known for {ip}")
        # a transaction that deletes set elements waits for the kernel's RCU grace period
        # (~13 ms) while one that only creates them takes ~0.3 ms: a new device is created,
        # and only if it is already there (a refresh) is it deleted and added again
        self._apply(
            _add_lines(mac, ip, int(timeout_s), verb="create"),
            fallback=_del_lines(mac, ip) + _add_lines(mac, ip, int(timeout_s)),
        )

    def revoke(self, mac: str | None, ip: str) -> None:
        """Cut the device off now, including its open connections."""
        if mac is not None:
            self._apply(_del_lines(mac, ip))
        # established flows would otherwise keep flowing downstream until they end
        subprocess.run(
            ["conntrack", "-D", "-s", canonical_ipv4(ip)], capture_output=True, check=False
        )

    def _apply(self, lines: list[str], fallback: list[str] | None = None) -> None:
        """Apply element changes with group commit: when many devices accept at once, the
        changes that queue while one nft transaction runs go together in the next one, and
        each caller returns only once its own change is in the kernel. If the batch fails,
        it is tried once more with each change's ``fallback`` lines (``create element``
        fails on an element that exists)."""
        change = _Change(lines, fallback)
        with self._pending_lock:
            self._pending.append(change)
        with self._nft_lock:
            if not change.done:
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                error = _run_batch([c.lines for c in batch])
                if error is not None and any(c.fallback for c in batch):
                    error = _run_batch([c.fallback or c.lines for c in batch])
                for c in batch:
                    c.error, c.done = error, True
        if change.error is not None:
            raise change.error

    def elements(self) -> list[Element]:
        """The devices currently let through, with their upstream counters."""
        import time

        now = time.time()
        result = []
        for body in _list_set("clients"):
            mac, ip = body["val"]["concat"]
            counter = body.get("counter", {})
            result.append(
                Element(
                    mac,
                    ip,
                    now + body.get("expires", 0),
                    counter.get("packets", 0),
                    counter.get("bytes", 0),
                )
            )
        return result

    def download_bytes(self) -> dict[str, int]:
        """Bytes sent to each authenticated device since it was let in."""
        return {b["val"]: b.get("counter", {}).get("bytes", 0) for b in _list_set("clients_down")}

    def _sysctls(self) -> None:
        if self._forward_before is None:
            self._forward_before = _read_sysctl("net/ipv4/ip_forward")
        _write_sysctl("net/ipv4/ip_forward", "1")
        # byte counts per flow for the legal log
        _write_sysctl("net/netfilter/nf_conntrack_acct", "1", required=False)


@dataclass
class _Change:
    lines: list[str]
    fallback: list[str] | None = None
    done: bool = False
    error: GatewayError | None = None


def _add_lines(mac: str, ip: str, timeout_s: int, verb: str = "add") -> list[str]:
    """``add`` leaves an existing element as it is; ``create`` fails on it."""
    mac, ip = canonical_mac(mac), canonical_ipv4(ip)
    t = max(1, int(timeout_s))
    return [
        f"{verb} element inet {TABLE} clients {{ {mac} . {ip} timeout {t}s }}",
        f"{verb} element inet {TABLE} clients_down {{ {ip} timeout {t}s }}",
    ]


def _run_batch(changes: list[list[str]]) -> GatewayError | None:
    try:
        run_nft("\n".join(line for lines in changes for line in lines) + "\n")
    except GatewayError as exc:
        return exc
    return None


def _del_lines(mac: str, ip: str) -> list[str]:
    # "add" first so that "delete" cannot fail on a missing element: one transaction either way
    mac, ip = canonical_mac(mac), canonical_ipv4(ip)
    return [
        f"add element inet {TABLE} clients {{ {mac} . {ip} }}",
        f"delete element inet {TABLE} clients {{ {mac} . {ip} }}",
        f"add element inet {TABLE} clients_down {{ {ip} }}",
        f"delete element inet {TABLE} clients_down {{ {ip} }}",
    ]


def _read_sysctl(name: str) -> str | None:
    try:
        return Path("/proc/sys", name).read_text().strip()
    except OSError:
        return None


def _write_sysctl(name: str, value: str, required: bool = True) -> None:
    try:
        Path("/proc/sys", name).write_text(value)
    except OSError as exc:
        if required:
            raise GatewayError(
                f"cannot set sysctl {name.replace('/', '.')}: {exc.strerror}"
            ) from None


class NeighbourTable:
    """MAC lookups in the kernel's IPv4 neighbour (ARP) table, as ``ip -4 neigh`` shows it.

    The table is read from ``/proc/net/arp`` of the gateway's network namespace: a netlink
    dump through pyroute2 parses every entry in Python (about 60 ms for 200 devices, and a
    socket must be shared under a lock), which a crowd of simultaneous accepts would queue
    behind; reading the proc file costs well under a millisecond and needs no lock.

    Parameters
    ----------
    interface
        Restrict lookups to this interface (the LAN).
    path
        The table's file (tests may point elsewhere).
    """

    _COMPLETE = 0x2  # ATF_COM: the entry has a hardware address

    def __init__(self, interface: str | None = None, path: str = "/proc/net/arp") -> None:
        self.interface = interface
        self.path = Path(path)

    def lookup(self, ip: str) -> str | None:
        """The MAC address the kernel has for ``ip`` (on the LAN interface), or ``None``."""
        try:
            ip = canonical_ipv4(ip)
            table = self.path.read_text()
        except (GatewayError, OSError):
            return None
        # a crowd means hundreds of entries: find the address's lines, don't split them all
        needle, start = f"\n{ip} ", 0
        while (start := table.find(needle, start)) >= 0:
            end = table.find("\n", start + 1)
            fields = table[start + 1 : None if end < 0 else end].split()
            start += 1
            if len(fields) < 6 or (self.interface and fields[5] != self.interface):
                continue
            if int(fields[2], 16) & self._COMPLETE:
                try:
                    return canonical_mac(fields[3])
                except GatewayError:
                    return None
        return None


def neighbour_mac(ip: str, interface: str | None = None) -> str | None:
    """The MAC address the kernel's neighbour (ARP) table has for ``ip``, or ``None``.

    Parameters
    ----------
    ip
        The client's IPv4 address (the source of its TCP connection).
    interface
        Restrict the lookup to this interface (the LAN).
    """
    return NeighbourTable(interface).lookup(ip)
