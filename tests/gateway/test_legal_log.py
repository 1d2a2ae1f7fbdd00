"""The legal log: append-only, hash chain, 365-day purge, read audit, requisition export."""

from __future__ import annotations

import json
import sqlite3

import pytest

from villenum.errors import GatewayError
from villenum.hotspots._gw_conntrack import ConntrackWatcher, parse_event
from villenum.hotspots.legal_log import LegalLog

T0 = 1_780_000_000.0  # 2026-05-28


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def legal(tmp_path, clock):
    log = LegalLog(tmp_path / "legal.sqlite", clock=clock)
    yield log
    log.close()


def add_flow(legal, mac="02:00:00:00:00:0b", port=40000, pub_port=50000, start=T0, key="k1"):
    legal.append(
        "flow",
        mac=mac,
        proto="tcp",
        priv_ip="10.77.0.11",
        priv_port=port,
        pub_ip="203.0.113.5",
        pub_port=pub_port,
        start_s=start,
        flow_key=key,
    )


def test_who_answers_a_requisition(legal, clock):
    add_flow(legal, key="a")
    add_flow(legal, mac="02:00:00:00:00:0c", port=40001, pub_port=50001, key="b")
    clock.now += 30
    legal.append("flow_end", flow_key="a", end_s=T0 + 30, bytes=1234)
    found = legal.who("203.0.113.5", 50000, T0 + 10, requester="OPJ", reason="PV 12")
    assert [(f["mac"], f["priv_port"], f["end_s"], f["bytes"]) for f in found] == [
        ("02:00:00:00:00:0b", 40000, T0 + 30, 1234)
    ]
    assert legal.who("203.0.113.5", 50000, T0 + 100, requester="OPJ", reason="PV 12") == []
    assert len(legal.who("203.0.113.5", None, T0 + 10, requester="OPJ", reason="PV 12")) == 2


def test_every_read_is_logged(legal):
    add_flow(legal)
    legal.who("203.0.113.5", 50000, T0, requester="OPJ Dupont", reason="réquisition 2026/7")
    reads = legal.records(requester="DPO", reason="audit", kind="read")
    assert [(r["requester"], r["reason"]) for r in reads] == [
        ("OPJ Dupont", "réquisition 2026/7"),
        ("DPO", "audit"),
    ]
    assert reads[0]["query"] == {"public_ip": "203.0.113.5", "public_port": 50000, "at_s": T0}
    with pytest.raises(GatewayError):
        legal.records(requester="", reason="curious")


def test_records_cannot_be_changed_or_deleted(legal, tmp_path):
    add_flow(legal)
    con = sqlite3.connect(tmp_path / "legal.sqlite")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE records SET mac='02:00:00:00:00:99'")
    with pytest.raises(sqlite3.IntegrityError, match="retention purge"):
        con.execute("DELETE FROM records")
    con.close()


def test_tampering_breaks_the_chain(legal, tmp_path):
    for i in range(5):
        add_flow(legal, port=40000 + i, key=str(i))
    assert legal.verify().ok
    con = sqlite3.connect(tmp_path / "legal.sqlite")
    con.execute("DROP TRIGGER records_append_only")  # an attacker with file access
    con.execute("UPDATE records SET mac='02:00:00:00:00:99' WHERE seq=3")
    con.commit()
    result = legal.verify()
    assert (result.ok, result.first_bad_seq) == (False, 3)
    body = con.execute("SELECT body FROM records WHERE seq=3").fetchone()[0]
    forged = json.loads(body) | {"mac": "02:00:00:00:00:99"}
    con.execute("UPDATE records SET body=? WHERE seq=3", (json.dumps(forged),))
    con.commit()
    con.close()
    assert legal.verify().first_bad_seq == 3  # the body no longer matches its hash


def test_purge_after_365_days_keeps_a_verifiable_chain(legal, clock):
    add_flow(legal, key="old")
    clock.now += 200 * 86400
    add_flow(legal, port=41000, start=clock.now, key="recent")
    clock.now += 165 * 86400 + 60  # the first record is now a year and a minute old
    assert legal.purge() == 1
    kinds = [r["kind"] for r in legal.records(requester="t", reason="t")]
    assert kinds == ["flow", "purge", "read"]
    assert legal.verify().ok
    assert legal.purge() == 0


def test_requisition_export(legal, tmp_path):
    legal.session("start", "02:00:00:00:00:0b", "10.77.0.11", T0 - 60)
    add_flow(legal)
    path = legal.requisition(
        "203.0.113.5", 50000, T0 + 1, requester="OPJ", reason="PV 12", path=tmp_path / "answer.json"
    )
    doc = json.loads(path.read_text())
    assert doc["flows"][0]["mac"] == "02:00:00:00:00:0b"
    assert doc["sessions"][0]["kind"] == "session_start"
    assert doc["chain"]["ok"] is True
    assert doc["requisition"]["at_utc"] == "2026-05-28T20:26:41Z"


def test_conntrack_events_become_flow_records(legal):
    watcher = ConntrackWatcher(
        legal,
        __import__("ipaddress").IPv4Network("10.77.0.0/24"),
        {"10.77.0.1"},
        lambda ip, t: "02:00:00:00:00:0b",
    )
    lines = [
        "[1780000000.5]\t    [NEW] tcp      6 120 SYN_SENT src=10.77.0.11 dst=198.51.100.1 "
        "sport=40342 dport=80 [UNREPLIED] src=198.51.100.1 dst=203.0.113.5 sport=80 "
        "dport=61000 id=42",
        # redirected to the portal: not NATed to the WAN, not a legal-log flow
        "[1780000000.6]\t    [NEW] tcp      6 120 SYN_SENT src=10.77.0.12 dst=198.51.100.1 "
        "sport=40343 dport=80 [UNREPLIED] src=10.77.0.1 dst=10.77.0.12 sport=8080 "
        "dport=40343 id=43",
        "[1780000030.0]\t[DESTROY] tcp      6 src=10.77.0.11 dst=198.51.100.1 sport=40342 "
        "dport=80 packets=6 bytes=400 src=198.51.100.1 dst=203.0.113.5 sport=80 dport=61000 "
        "packets=5 bytes=5000 [ASSURED] id=42",
        "not a conntrack line",
    ]
    for line in lines:
        event = parse_event(line)
        if event is not None:
            watcher.handle(event)
    (flow,) = legal.who("203.0.113.5", 61000, 1780000010.0, requester="t", reason="t")
    assert (flow["priv_ip"], flow["priv_port"], flow["bytes"], flow["end_s"]) == (
        "10.77.0.11",
        40342,
        5400,
        1780000030.0,
    )
    assert len(legal.records(requester="t", reason="t", kind="flow")) == 1
