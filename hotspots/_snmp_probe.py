"""ICMP echo probe (raw socket) telling a dead host from a dead SNMP agent.

One socket sends an echo request to every address at once and collects the replies until the
timeout, so probing hundreds of silent hosts costs one timeout, not hundreds. A raw socket
needs root (or CAP_NET_RAW); without it the unprivileged ICMP datagram socket is tried
(allowed by ``net.ipv4.ping_group_range``); if neither is allowed the probe is unavailable.

References
----------
RFC 792 (ICMP echo and echo reply), RFC 1071 (Internet checksum).
"""

from __future__ import annotations

import ipaddress
import os
import select
import socket
import struct
import time
from collections.abc import Sequence

_ECHO_REQUEST, _ECHO_REPLY = 8, 0


def checksum(data: bytes) -> int:
    """The RFC 1071 Internet checksum of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _open_socket() -> tuple[socket.socket, bool] | None:
    for kind, raw in ((socket.SOCK_RAW, True), (socket.SOCK_DGRAM, False)):
        try:
            return socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP), raw
        except (PermissionError, OSError):
            continue
    return None


def ping_many(addresses: Sequence[str], timeout_s: float = 1.0) -> dict[str, float | None] | None:
    """Send one ICMP echo request to each IPv4 address and wait for the replies.

    Parameters
    ----------
    addresses
        IPv4 addresses (other entries are skipped and absent from the result).
    timeout_s
        How long to wait for replies after sending.

    Returns
    -------
    dict or None
        Round-trip time in ms per address, ``None`` for no reply; ``None`` overall when this
        process may not open an ICMP socket.
    """
    targets: dict[str, int] = {}
    for address in addresses:
        try:
            if ipaddress.ip_address(address).version == 4:
                targets.setdefault(address, len(targets) + 1)
        except ValueError:
            continue
    if not targets:
        return {}
    opened = _open_socket()
    if opened is None:
        return None
    sock, raw = opened
    ident = os.getpid() & 0xFFFF
    sent: dict[int, tuple[str, float]] = {}
    result: dict[str, float | None] = dict.fromkeys(targets)
    with sock:
        sock.setblocking(False)
        for address, seq in targets.items():
            payload = b"villenum-probe"
            header = struct.pack("!BBHHH", _ECHO_REQUEST, 0, 0, ident, seq)
            packet = struct.pack("!BBHHH", _ECHO_REQUEST, 0, checksum(header + payload), ident, seq)
            try:
                sock.sendto(packet + payload, (address, 0))
            except OSError:
                continue  # no route: stays None (host unreachable)
            sent[seq] = (address, time.monotonic())
        deadline = time.monotonic() + timeout_s
        while sent and (left := deadline - time.monotonic()) > 0:
            if not select.select([sock], [], [], left)[0]:
                break
            try:
                data, (source, _) = sock.recvfrom(2048)
            except OSError:
                continue
            if raw:  # a raw socket hands us the IPv4 header too
                data = data[(data[0] & 0x0F) * 4 :] if data else b""
            if len(data) < 8:
                continue
            kind, _, _, reply_id, seq = struct.unpack("!BBHHH", data[:8])
            # the kernel rewrites the identifier of datagram ICMP sockets: match seq + source
            if kind != _ECHO_REPLY or (raw and reply_id != ident) or seq not in sent:
                continue
            address, start = sent[seq]
            if source != address:
                continue
            result[address] = (time.monotonic() - start) * 1000.0
            del sent[seq]
    return result
