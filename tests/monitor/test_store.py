"""The SQLite store: WAL, 5-minute aggregates, retention, clear errors on bad files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from villenum.errors import MonitorError
from villenum.hotspots.store import Retention, Store

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC, a bucket boundary


def status(hotspot_id: str, ts: float, score: int, state: str = "up", in_bps: float = 1e6) -> dict:
    return {"id": hotspot_id, "name": hotspot_id, "state": state, "reason": "ok", "score": score,
            "last_poll": ts, "metrics": {"reason_code": "ok" if state != "down" else "timeout",
                                         "clients": 10.0},
            "rates": {"uplink_in_bps": in_bps, "uplink_out_bps": in_bps / 4}}  # fmt: skip


def fill(store: Store, minutes: int, start: float = T0) -> None:
    for i in range(minutes):
        state = "down" if i == 7 else "up"
        store.save_cycle([status("ap-1", start + 60 * i, 100 - i, state, 1e6 * (i + 1))], {}, {})


def test_wal_mode_and_readers_during_writes(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db")
    fill(store, 3)
    mode = sqlite3.connect(tmp_path / "m.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    reader = Store(tmp_path / "m.db", readonly=True)
    fill(store, 2, start=T0 + 600)
    assert len(reader.history("ap-1", 0)) == 5
    with pytest.raises(sqlite3.OperationalError):
        reader._db.execute("DELETE FROM samples")  # a read-only handle cannot write


def test_five_minute_aggregates_are_exact_and_idempotent(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db")
    fill(store, 12)  # 12 one-minute samples: buckets [0,5) [5,10) [10,15) min
    store.downsample(now_s=T0 + 12 * 60)  # the bucket in progress is not aggregated
    aggs = store.aggregates("ap-1", 0)
    assert [a["bucket_s"] for a in aggs] == [T0, T0 + 300]
    first, second = aggs
    assert first["n"] == 5 and first["score_avg"] == pytest.approx(98.0)
    assert first["in_bps_max"] == pytest.approx(5e6) and first["in_bps_min"] == pytest.approx(1e6)
    assert second["worst_state"] == "down" and second["ok_n"] == 4  # minute 7 was down
    store.downsample(now_s=T0 + 12 * 60)  # again: same rows, no duplicates
    assert store.aggregates("ap-1", 0) == aggs


def test_retention_drops_old_raw_then_old_aggregates(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db", Retention(raw_days=1, agg_days=3))
    fill(store, 10)
    store.downsample(now_s=T0 + 600)
    store.downsample(now_s=T0 + 2 * 86400)  # raw rows older than 1 day go, aggregates stay
    assert store.history("ap-1", 0) == []
    assert len(store.aggregates("ap-1", 0)) == 2
    store.downsample(now_s=T0 + 4 * 86400)
    assert store.aggregates("ap-1", 0) == []


def test_bad_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(MonitorError, match="monitor database not found"):
        Store(tmp_path / "none.db", readonly=True)
    with pytest.raises(MonitorError, match="no such folder"):
        Store(tmp_path / "no" / "dir" / "m.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(MonitorError, match="not a usable monitor database"):
        Store(junk)
    assert junk.read_bytes() == b"this is not sqlite" * 100  # never overwritten
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(MonitorError, match="not a villenum monitor database"):
        Store(other, readonly=True)
    with pytest.raises(MonitorError, match="database of something else"):
        Store(other)  # never add our tables to someone else's database
    tables = sqlite3.connect(other).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("t",)]


def test_scheduling_retries_soft_failures_quickly(tmp_path: Path) -> None:
    """Nagios-like: a failing hotspot is re-polled every retry interval until hard down."""
    from villenum.hotspots.inventory import Hotspot
    from villenum.hotspots.monitor import Monitor, MonitorConfig

    hotspots = [Hotspot(f"ap-{i}", "x", 43.48, -1.55, address="10.0.0.1", community="c")
                for i in range(4)]  # fmt: skip
    monitor = Monitor(hotspots, Store(tmp_path / "m.db"),
                      MonitorConfig(interval_s=60, retry_interval_s=10))  # fmt: skip
    assert monitor.due(T0) == hotspots  # never polled
    monitor.last_poll_s = {h.id: T0 for h in hotspots}
    monitor.health["ap-1"].failures = 1  # soft failure: retry soon
    monitor.health["ap-2"].state, monitor.health["ap-2"].failures = "down", 5  # hard: normal pace
    monitor.health["ap-3"].state, monitor.health["ap-3"].successes = "down", 1  # recovering
    assert [h.id for h in monitor.due(T0 + 10)] == ["ap-1", "ap-3"]
    assert [h.id for h in monitor.due(T0 + 60)] == ["ap-0", "ap-1", "ap-2", "ap-3"]
