"""Hostile or broken agents: malformed, oversized, lying answers from a scapy UDP responder.

The poller must never crash nor hang: each such hotspot gets a failed sample with a reason,
and a healthy agent polled in the same cycle is unaffected.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from scapy.asn1.asn1 import ASN1_INTEGER, ASN1_OID, ASN1_STRING
from scapy.layers.snmp import SNMP, SNMPresponse, SNMPvarbind

from villenum.hotspots.inventory import validate_hotspots
from villenum.hotspots.snmp import PollerOptions, poll_hotspots

from .conftest import ap_records


def _response(
    request: bytes, varbinds: list[tuple[str, Any]], request_id: int | None = None
) -> bytes:
    query = SNMP(request)
    rid = query.PDU.id.val if request_id is None else request_id
    vbs = [SNMPvarbind(oid=ASN1_OID(oid), value=value) for oid, value in varbinds]
    return bytes(SNMP(version=1, community=query.community.val,
                      PDU=SNMPresponse(id=rid, varbindlist=vbs)))  # fmt: skip


def _requested(request: bytes) -> list[str]:
    return [v.oid.val for v in SNMP(request).PDU.varbindlist]


BEHAVIOURS: dict[str, Callable[[bytes], list[bytes]]] = {
    # random bytes, not BER at all
    "garbage": lambda req: [b"\x30\x82\xff\xff" + bytes(range(256)) * 3],
    # a 60 kB datagram of garbage (close to the UDP maximum)
    "oversized": lambda req: [b"\x30\x83\x00\xea\x60" + b"\x04" * 60000],
    # a valid BER message cut in the middle
    "truncated": lambda req: [_response(req, [("1.3.6.1.2.1.1.3.0", ASN1_INTEGER(5))])[:-7]],
    # well-formed answers to another request id, many times (a reflected flood)
    "wrong-id": lambda req: (
        [_response(req, [("1.3.6.1.2.1.1.3.0", ASN1_INTEGER(5))], request_id=12345)] * 20
    ),
    # a right answer whose sysUpTime is a string and columns go backwards
    "lying": lambda req: [
        _response(
            req,
            [("1.3.6.1.2.1.1.3.0", ASN1_STRING(b"yesterday"))]
            + [
                (oid, ASN1_INTEGER(1)) for oid in ["1.3.6.1.2.1.1.1.0"] * (len(_requested(req)) - 1)
            ],
        )
    ],
    # a huge, well-formed answer: 1000 varbinds of 30-byte strings
    "bloated": lambda req: [
        _response(
            req,
            [("1.3.6.1.2.1.1.3.0", ASN1_INTEGER(100))]
            + [(f"1.3.6.1.2.1.2.2.1.2.{i}", ASN1_STRING(b"x" * 30)) for i in range(1, 1000)],
        )
    ],
}


@pytest.fixture
def hostile() -> Iterator[dict[str, int]]:
    """One scapy-built responder per behaviour, each on its own loopback UDP port."""
    sockets, threads = [], []
    stop = threading.Event()
    ports = {}
    for name, behaviour in BEHAVIOURS.items():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.1)
        ports[name] = sock.getsockname()[1]

        def serve(sock: socket.socket = sock, behaviour: Callable = behaviour) -> None:
            while not stop.is_set():
                try:
                    data, peer = sock.recvfrom(65535)
                except TimeoutError:
                    continue
                try:
                    answers = behaviour(data)
                except Exception:  # a request scapy cannot parse gets garbage
                    answers = [b"\x00" * 10]
                for answer in answers:
                    sock.sendto(answer, peer)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        sockets.append(sock)
        threads.append(thread)
    yield ports
    stop.set()
    for thread in threads:
        thread.join(2)
    for sock in sockets:
        sock.close()


def test_malformed_and_oversized_answers_never_crash(
    hostile: dict[str, int], snmpsim_factory: Any
) -> None:
    good = snmpsim_factory({"public": ap_records()})
    tables = [
        {
            "id": name,
            "name": name,
            "lat": 43.48,
            "lon": -1.55,
            "address": "127.0.0.1",
            "port": port,
            "community": "public",
        }
        for name, port in hostile.items()
    ]
    tables.append({"id": "good", "name": "good", "lat": 43.48, "lon": -1.55,
                   "address": "127.0.0.1", "port": good.port, "community": "public"})  # fmt: skip
    options = PollerOptions(timeout_s=0.5, retries=0, deadline_s=3.0, probe=False)
    samples = {s.hotspot_id: s for s in poll_hotspots(validate_hotspots(tables), options)}
    assert samples["good"].ok and samples["good"].uplink is not None
    for name in BEHAVIOURS:
        sample = samples[name]
        assert not sample.ok, name
        assert sample.reason in ("timeout", "bad-response", "deadline"), (name, sample.reason)
        assert sample.poll_s < 3.5, name  # the device deadline holds
    assert samples["lying"].reason == "bad-response"
    assert "sysUpTime" in samples["lying"].detail
