"""The monitor's SQLite (WAL) store: time series, last samples, health states, events.

One file holds everything a restarted monitor needs to carry on without a gap: the last raw
sample of each hotspot (so the first poll after a restart already yields rates), each
hotspot's health state machine (hysteresis counters, flap history), the alerting state and
the last published status. WAL mode lets the admin web app and ``villenum maps health`` read
while the monitor writes.

Time series
    ``samples`` keeps one row per hotspot and poll for ``raw_days`` (default 7);
    ``agg5m`` keeps 5-minute aggregates (mean/min/max) for ``agg_days`` (default 365).
    :meth:`Store.downsample` recomputes the buckets from the raw rows still present, so it is
    idempotent and a restart loses nothing.

Tables: ``hotspots`` (inventory, without secrets), ``samples``, ``agg5m``, ``last_sample``,
``health``, ``status``, ``alerts``, ``events`` and ``meta`` (schema version).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from villenum.errors import MonitorError

SCHEMA_VERSION = 1
_SERIES = ("score", "in_bps", "out_bps", "clients", "cpu_pct", "mem_pct", "error_ratio",
           "channel_util_pct", "noise_dbm", "rtt_ms")  # fmt: skip

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hotspots (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS samples (
    hotspot_id TEXT NOT NULL, ts REAL NOT NULL, state TEXT NOT NULL, ok INTEGER NOT NULL,
    reason TEXT, {", ".join(f"{c} REAL" for c in _SERIES)},
    PRIMARY KEY (hotspot_id, ts)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS samples_ts ON samples (ts);
CREATE TABLE IF NOT EXISTS agg5m (
    hotspot_id TEXT NOT NULL, bucket_s INTEGER NOT NULL, n INTEGER NOT NULL,
    ok_n INTEGER NOT NULL, worst_state TEXT,
    {", ".join(f"{c}_avg REAL, {c}_min REAL, {c}_max REAL" for c in _SERIES)},
    PRIMARY KEY (hotspot_id, bucket_s)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS last_sample (hotspot_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS health (hotspot_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS status (hotspot_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (hotspot_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, hotspot_id TEXT NOT NULL, kind TEXT NOT NULL,
    old TEXT, new TEXT, reason TEXT);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
"""

_STATE_RANK = (
    "CASE state WHEN 'down' THEN 3 WHEN 'degraded' THEN 2 WHEN 'unknown' THEN 1 ELSE 0 END"
)


@dataclass(frozen=True)
class Retention:
    """How long series are kept: raw samples, then ``bucket_s`` aggregates."""

    raw_days: float = 7.0
    agg_days: float = 365.0
    bucket_s: int = 300


class Store:
    """Open (creating if needed) a monitor database.

    Parameters
    ----------
    path
        SQLite file; its folder must exist.
    retention
        Raw and aggregate retention.
    readonly
        Open an existing database for reading only (web app, maps).

    Raises
    ------
    MonitorError
        If the file cannot be opened or created, is not a villenum monitor database, or was
        written by a newer villenum.
    """

    def __init__(
        self, path: str | Path, retention: Retention | None = None, readonly: bool = False
    ) -> None:
        self.path = Path(path)
        self.retention = retention or Retention()
        self._lock = threading.Lock()
        if readonly and not self.path.is_file():
            raise MonitorError(f"monitor database not found: {self.path}")
        if not readonly and not self.path.parent.is_dir():
            raise MonitorError(f"cannot create monitor database {self.path}: no such folder")
        try:
            uri = f"file:{self.path}?mode=ro" if readonly else f"file:{self.path}"
            self._db = sqlite3.connect(uri, uri=True, timeout=15, check_same_thread=False)
            if not readonly:
                tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
                if tables and "meta" not in tables:
                    raise MonitorError(
                        f"{self.path} is an SQLite database of something else, not a villenum "
                        "monitor database: choose another --db"
                    )
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
                self._check_version(write=True)
            else:
                self._check_version(write=False)
        except sqlite3.DatabaseError as exc:
            raise MonitorError(f"{self.path} is not a usable monitor database: {exc}") from None

    def _check_version(self, write: bool) -> None:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.OperationalError:
            raise MonitorError(f"{self.path} is not a villenum monitor database") from None
        if row is None and write:
            with self._db:
                self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif row is not None and int(row[0]) > SCHEMA_VERSION:
            raise MonitorError(
                f"{self.path} has monitor schema {row[0]}, newer than this villenum's "
                f"{SCHEMA_VERSION}: upgrade villenum"
            )

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with self._db:
                    yield self._db
            except sqlite3.OperationalError as exc:
                raise MonitorError(f"cannot write monitor database {self.path}: {exc}") from None

    # -- writing ---------------------------------------------------------------------------

    def set_hotspots(self, hotspots: Iterable[dict[str, Any]]) -> None:
        """Record the inventory's public fields (for maps and the JSON API)."""
        rows = [(h["id"], json.dumps(h)) for h in hotspots]
        with self._write() as db:
            db.execute("DELETE FROM hotspots")
            db.executemany("INSERT INTO hotspots VALUES (?, ?)", rows)

    def save_cycle(
        self,
        statuses: Sequence[dict[str, Any]],
        last_samples: dict[str, dict[str, Any]],
        health: dict[str, dict[str, Any]],
        events: Sequence[dict[str, Any]] = (),
        alerts: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Store one cycle atomically: series rows, status, last samples, health, events."""
        rows = []
        for s in statuses:
            m, r = s["metrics"], s["rates"]
            values = {
                "score": s["score"], "in_bps": r.get("uplink_in_bps"),
                "out_bps": r.get("uplink_out_bps"), "clients": m.get("clients"),
                "cpu_pct": m.get("cpu_pct"), "mem_pct": m.get("mem_pct"),
                "error_ratio": r.get("error_ratio"), "channel_util_pct": m.get("channel_util_pct"),
                "noise_dbm": m.get("noise_dbm"), "rtt_ms": m.get("rtt_ms"),
            }  # fmt: skip
            rows.append(
                (s["id"], s["last_poll"], s["state"], int(m.get("reason_code") == "ok"),
                 s["reason"], *(values[c] for c in _SERIES))
            )  # fmt: skip
        marks = ", ".join("?" * (5 + len(_SERIES)))
        with self._write() as db:
            db.executemany(f"INSERT OR REPLACE INTO samples VALUES ({marks})", rows)
            db.executemany(
                "INSERT OR REPLACE INTO status VALUES (?, ?)",
                [(s["id"], json.dumps(s)) for s in statuses],
            )
            for table, data in (("last_sample", last_samples), ("health", health),
                                ("alerts", alerts or {})):  # fmt: skip
                db.executemany(
                    f"INSERT OR REPLACE INTO {table} VALUES (?, ?)",
                    [(k, json.dumps(v)) for k, v in data.items()],
                )
            db.executemany(
                "INSERT INTO events (ts, hotspot_id, kind, old, new, reason) VALUES (?,?,?,?,?,?)",
                [(e["time_s"], e["hotspot_id"], e["kind"], e["old"], e["new"], e["reason"])
                 for e in events],
            )  # fmt: skip

    def downsample(self, now_s: float | None = None) -> None:
        """Aggregate raw samples into buckets and drop rows older than the retention."""
        now_s = time.time() if now_s is None else now_s
        b = self.retention.bucket_s
        done_until = int(now_s // b) * b  # only complete buckets
        last = self._db.execute("SELECT max(bucket_s) FROM agg5m").fetchone()[0]
        start = last if last is not None else 0  # the last bucket is recomputed: idempotent
        stats = ", ".join(f"avg({c}), min({c}), max({c})" for c in _SERIES)
        with self._write() as db:
            db.execute(
                f"""INSERT OR REPLACE INTO agg5m
                SELECT hotspot_id, CAST(ts / {b} AS INTEGER) * {b} AS bucket, count(*), sum(ok),
                       (SELECT state FROM samples s2 WHERE s2.hotspot_id = samples.hotspot_id
                        AND s2.ts >= CAST(samples.ts / {b} AS INTEGER) * {b}
                        AND s2.ts < CAST(samples.ts / {b} AS INTEGER) * {b} + {b}
                        ORDER BY {_STATE_RANK} DESC LIMIT 1),
                       {stats}
                FROM samples WHERE ts >= ? AND ts < ? GROUP BY hotspot_id, bucket""",
                (start, done_until),
            )
            db.execute(
                "DELETE FROM samples WHERE ts < ?", (now_s - self.retention.raw_days * 86400,)
            )
            db.execute(
                "DELETE FROM agg5m WHERE bucket_s < ?", (now_s - self.retention.agg_days * 86400,)
            )
            db.execute(
                "DELETE FROM events WHERE ts < ?", (now_s - self.retention.agg_days * 86400,)
            )

    # -- reading ---------------------------------------------------------------------------

    def _json_table(self, table: str) -> dict[str, Any]:
        try:
            rows = self._db.execute(f"SELECT * FROM {table}").fetchall()
        except sqlite3.DatabaseError as exc:
            raise MonitorError(f"cannot read {table} from {self.path}: {exc}") from None
        return {k: json.loads(v) for k, v in rows}

    def hotspots(self) -> dict[str, dict[str, Any]]:
        """Public inventory fields by hotspot id."""
        return self._json_table("hotspots")

    def last_samples(self) -> dict[str, dict[str, Any]]:
        """The last successful raw sample of each hotspot (``Sample.to_dict`` form)."""
        return self._json_table("last_sample")

    def health_states(self) -> dict[str, dict[str, Any]]:
        """Persisted ``HealthState`` dicts by hotspot id."""
        return self._json_table("health")

    def alert_states(self) -> dict[str, dict[str, Any]]:
        """Persisted alerting state by hotspot id."""
        return self._json_table("alerts")

    def statuses(self) -> list[dict[str, Any]]:
        """The last published status of every hotspot, in inventory order when known."""
        status = self._json_table("status")
        order = list(self.hotspots())
        ids = [i for i in order if i in status] + sorted(set(status) - set(order))
        return [status[i] for i in ids]

    def history(
        self,
        hotspot_id: str,
        since_s: float,
        series: Sequence[str] = ("score", "in_bps", "out_bps", "clients"),
    ) -> list[dict[str, Any]]:
        """Raw samples of one hotspot since a time, oldest first (``ts``, ``state``, series)."""
        unknown = set(series) - set(_SERIES)
        if unknown:
            raise MonitorError(
                f"unknown series {sorted(unknown)[0]!r}; known: {', '.join(_SERIES)}"
            )
        cols = ", ".join(series)
        rows = self._db.execute(
            f"SELECT ts, state, {cols} FROM samples WHERE hotspot_id = ? AND ts >= ? ORDER BY ts",
            (hotspot_id, since_s),
        ).fetchall()
        return [dict(zip(("ts", "state", *series), r, strict=True)) for r in rows]

    def aggregates(self, hotspot_id: str, since_s: float) -> list[dict[str, Any]]:
        """5-minute aggregates of one hotspot since a time, oldest first."""
        cur = self._db.execute(
            "SELECT * FROM agg5m WHERE hotspot_id = ? AND bucket_s >= ? ORDER BY bucket_s",
            (hotspot_id, since_s),
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def events(self, limit: int = 100, hotspot_id: str | None = None) -> list[dict[str, Any]]:
        """The most recent events (state changes, flapping), newest first."""
        where, args = ("WHERE hotspot_id = ?", (hotspot_id,)) if hotspot_id else ("", ())
        cur = self._db.execute(
            f"SELECT ts, hotspot_id, kind, old, new, reason FROM events {where} "
            "ORDER BY ts DESC, id DESC LIMIT ?",
            (*args, limit),
        )
        names = ("ts", "hotspot_id", "kind", "old", "new", "reason")
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
