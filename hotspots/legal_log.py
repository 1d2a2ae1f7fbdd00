"""The legal log: what French law requires a public hotspot to keep, and nothing more.

For each session, the device (MAC address) and its private IPv4 address with start and end;
for each NATed flow, the private and public address and port, the protocol, start, end and
volume. Never a URL, a DNS name or a destination. Records are kept 365 days, then purged.

The log is an SQLite table that SQLite triggers make append-only; each record carries the
SHA-256 of the previous record's hash and its own content, so any later change breaks the
chain (:meth:`LegalLog.verify`). A purge removes the oldest records and keeps the hash the
remaining chain starts from. Every read of the log appends a ``read`` record saying who read
what and why.

References
----------
Code des postes et des communications électroniques, articles L34-1 and R10-13 (obligation to
keep connection data for one year), as amended by decree 2021-1362.
Regulation (EU) 2016/679 (GDPR), articles 5(1)(c) (data minimisation) and 6(1)(c).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from villenum.errors import GatewayError
from villenum.hotspots._sqlite import connect_wal

if TYPE_CHECKING:
    from villenum.hotspots.sessions import Session

RETENTION_DAYS = 365
GENESIS = "0" * 64
_FIELDS = (
    "mac",
    "proto",
    "priv_ip",
    "priv_port",
    "pub_ip",
    "pub_port",
    "start_s",
    "end_s",
    "bytes",
    "flow_key",
)

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    mac TEXT, proto TEXT, priv_ip TEXT, priv_port INTEGER, pub_ip TEXT, pub_port INTEGER,
    start_s REAL, end_s REAL, bytes INTEGER, flow_key TEXT,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_pub ON records (pub_ip, pub_port, start_s);
CREATE INDEX IF NOT EXISTS records_key ON records (flow_key);
CREATE TABLE IF NOT EXISTS chain_start (id INTEGER PRIMARY KEY CHECK (id = 1), prev_hash TEXT);
INSERT OR IGNORE INTO chain_start VALUES (1, '"""
    + GENESIS
    + """');
CREATE TABLE IF NOT EXISTS purge_guard (cutoff REAL);
CREATE TRIGGER IF NOT EXISTS records_append_only BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'the legal log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_keep BEFORE DELETE ON records
WHEN old.ts >= COALESCE((SELECT MAX(cutoff) FROM purge_guard), -1e300)
BEGIN SELECT RAISE(ABORT, 'legal log records are deleted only by the retention purge'); END;
"""
)


@dataclass
class _Pending:
    kind: str
    fields: dict[str, Any]
    seq: int | None = None
    error: BaseException | None = None


@dataclass(frozen=True)
class Verification:
    """The result of checking the hash chain."""

    ok: bool
    records: int
    first_bad_seq: int | None


class LegalLog:
    """The append-only, hash-chained legal log in an SQLite file (WAL).

    Parameters
    ----------
    path
        The database file (its folder is created).
    clock
        Unix time in seconds; injectable so tests can move a year ahead.

    Raises
    ------
    GatewayError
        If the database cannot be opened.
    """

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: list[_Pending] = []
        try:
            self._db, self._writing = connect_wal(path, _SCHEMA, self._lock)
        except (sqlite3.Error, OSError) as exc:
            raise GatewayError(f"cannot open the legal log {path}: {exc}") from None

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
            self._writing.close()

    # -- writing ---------------------------------------------------------------------------

    def append(self, kind: str, **fields: Any) -> int:
        """Append one record and return its sequence number.

        Parameters
        ----------
        kind
            ``session_start``, ``session_end``, ``flow``, ``flow_end``, ``read`` or ``purge``.
        **fields
            Columns (``mac``, ``priv_ip``, ``pub_port``...) and any other JSON-able detail.
        """
        entry = _Pending(kind, fields)
        with self._pending_lock:
            self._pending.append(entry)
        # group commit: whoever holds the database writes every record queued meanwhile in
        # one transaction, so a crowd of sessions shares one fsync; each caller still returns
        # only once its own record is durable
        with self._writing:
            if entry.seq is None and entry.error is None:
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    seqs = [self._append(p.kind, p.fields) for p in batch]
                    self._db.execute("COMMIT")
                except BaseException as exc:
                    self._db.execute("ROLLBACK")
                    for p in batch:
                        p.error = exc
                else:
                    for p, seq in zip(batch, seqs, strict=True):
                        p.seq = seq
        if entry.error is not None:
            raise entry.error
        assert entry.seq is not None
        return entry.seq

    def _append(self, kind: str, fields: dict[str, Any]) -> int:
        ts = self.clock()
        row = self._db.execute("SELECT hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        prev = (
            row[0] if row else self._db.execute("SELECT prev_hash FROM chain_start").fetchone()[0]
        )
        body = json.dumps({"ts": ts, "kind": kind, **fields}, sort_keys=True, separators=(",", ":"))
        digest = _hash(prev, body)
        cur = self._db.execute(
            f"INSERT INTO records (ts, kind, {', '.join(_FIELDS)}, body, prev_hash, hash) "
            f"VALUES (?, ?, {', '.join('?' * len(_FIELDS))}, ?, ?, ?)",
            (ts, kind, *(fields.get(f) for f in _FIELDS), body, prev, digest),
        )
        return int(cur.lastrowid or 0)

    def session(
        self, event: str, mac: str | None, ip: str, start_s: float, end_s: float | None = None
    ) -> int:
        """Record a session start or end (``event`` is ``"start"`` or ``"end"``)."""
        return self.append(f"session_{event}", mac=mac, priv_ip=ip, start_s=start_s, end_s=end_s)

    def log_session(self, event: str, session: Session) -> None:
        """:meth:`session` for a store's :class:`Session`: the portal's ``on_session``."""
        self.session(event, session.mac, session.ip, session.started_s, session.ended_s)

    def purge(self, retention_days: int = RETENTION_DAYS) -> int:
        """Delete records older than the retention period; return how many went.

        The purge itself is recorded, with the hash the remaining chain now starts from.
        """
        cutoff = self.clock() - retention_days * 86400
        with self._writing:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                last = self._db.execute(
                    "SELECT hash FROM records WHERE ts < ? ORDER BY seq DESC LIMIT 1", (cutoff,)
                ).fetchone()
                count = 0
                if last is not None:
                    self._db.execute("INSERT INTO purge_guard VALUES (?)", (cutoff,))
                    count = self._db.execute("DELETE FROM records WHERE ts < ?", (cutoff,)).rowcount
                    self._db.execute("DELETE FROM purge_guard")
                    self._db.execute("UPDATE chain_start SET prev_hash=?", (last[0],))
                    self._append(
                        "purge", {"before_s": cutoff, "purged": count, "chain_start": last[0]}
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return count

    # -- reading (every read is itself logged) ------------------------------------------------

    def _audit(self, requester: str, reason: str, what: dict[str, Any]) -> None:
        if not requester.strip() or not reason.strip():
            raise GatewayError("reading the legal log needs a requester and a reason")
        self.append("read", requester=requester, reason=reason, query=what)

    def who(
        self,
        public_ip: str,
        public_port: int | None,
        at_s: float,
        *,
        requester: str,
        reason: str,
        slack_s: float = 2.0,
    ) -> list[dict[str, Any]]:
        """Answer "which device had public IP X, port Y, at time T".

        Parameters
        ----------
        public_ip
            The hotspot's public (WAN) address in the requisition.
        public_port
            The source port seen by the remote server (``None``: every flow at that time).
        at_s
            The time in the requisition (Unix seconds, UTC).
        requester, reason
            Who reads and why (a requisition reference): logged before anything is read.
        slack_s
            Tolerance on ``at_s`` for clocks that disagree.

        Returns
        -------
        list of dict
            Matching flows (MAC, private and public address and port, protocol, start, end,
            bytes, record hash), most recent start first; ``end_s`` is ``None`` when the
            flow's end was not seen (still open, or the gateway stopped).
        """
        self._audit(
            requester, reason, {"public_ip": public_ip, "public_port": public_port, "at_s": at_s}
        )
        sql = (
            "SELECT f.seq, f.mac, f.proto, f.priv_ip, f.priv_port, f.pub_ip, f.pub_port, "
            "f.start_s, e.end_s, e.bytes, f.hash FROM records f "
            "LEFT JOIN records e ON e.kind='flow_end' AND e.flow_key=f.flow_key "
            "WHERE f.kind='flow' AND f.pub_ip=? AND f.start_s<=? "
            "AND (e.end_s IS NULL OR e.end_s>=?)"
        )
        params: list[Any] = [public_ip, at_s + slack_s, at_s - slack_s]
        if public_port is not None:
            sql += " AND f.pub_port=?"
            params.append(int(public_port))
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY f.start_s DESC", params).fetchall()
        keys = (
            "seq",
            "mac",
            "proto",
            "priv_ip",
            "priv_port",
            "pub_ip",
            "pub_port",
            "start_s",
            "end_s",
            "bytes",
            "hash",
        )
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def records(
        self, *, requester: str, reason: str, kind: str | None = None, since_s: float | None = None
    ) -> list[dict[str, Any]]:
        """Every record (optionally of one kind, since a time) as dicts; the read is logged."""
        self._audit(requester, reason, {"kind": kind, "since_s": since_s})
        sql, params = "SELECT seq, ts, kind, body, hash FROM records WHERE 1=1", []
        if kind is not None:
            sql += " AND kind=?"
            params.append(kind)
        if since_s is not None:
            sql += " AND ts>=?"
            params.append(since_s)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", params).fetchall()
        return [
            {"seq": s, "ts": ts, "kind": k, **json.loads(b), "hash": h} for s, ts, k, b, h in rows
        ]

    def requisition(
        self,
        public_ip: str,
        public_port: int | None,
        at_s: float,
        *,
        requester: str,
        reason: str,
        path: str | Path,
    ) -> Path:
        """Write the answer to a judicial requisition as JSON and return its path.

        The file holds the matching flows, the sessions of the devices found, and the result
        of the hash-chain check at the time of export.
        """
        flows = self.who(public_ip, public_port, at_s, requester=requester, reason=reason)
        macs = sorted({f["mac"] for f in flows if f["mac"]})
        with self._lock:
            sessions = [
                dict(zip(("kind", "mac", "priv_ip", "start_s", "end_s", "hash"), r, strict=True))
                for mac in macs
                for r in self._db.execute(
                    "SELECT kind, mac, priv_ip, start_s, end_s, hash FROM records "
                    "WHERE kind IN ('session_start','session_end') AND mac=? "
                    "AND start_s BETWEEN ? AND ? ORDER BY seq",
                    (mac, at_s - 31 * 86400, at_s + 86400),
                )
            ]
        check = self.verify(requester=requester, reason=f"integrity check for {reason}")
        doc = {
            "requisition": {
                "public_ip": public_ip,
                "public_port": public_port,
                "at_s": at_s,
                "at_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at_s)),
                "requester": requester,
                "reason": reason,
            },
            "exported_s": self.clock(),
            "flows": flows,
            "sessions": sessions,
            "chain": {
                "ok": check.ok,
                "records": check.records,
                "first_bad_seq": check.first_bad_seq,
            },
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
        return path

    def verify(
        self, *, requester: str = "villenum", reason: str = "integrity check"
    ) -> Verification:
        """Recompute the hash chain from its start; the check is logged like any read."""
        self._audit(requester, reason, {"verify": True})
        with self._lock:
            prev = self._db.execute("SELECT prev_hash FROM chain_start").fetchone()[0]
            count = 0
            for seq, body, stored_prev, digest, *columns in self._db.execute(
                f"SELECT seq, body, prev_hash, hash, {', '.join(_FIELDS)} FROM records ORDER BY seq"
            ):
                count += 1
                if stored_prev != prev or _hash(prev, body) != digest:
                    return Verification(False, count, seq)
                # the indexed columns must say what the hashed body says
                fields = json.loads(body)
                if any(fields.get(f) != c for f, c in zip(_FIELDS, columns, strict=True)):
                    return Verification(False, count, seq)
                prev = digest
        return Verification(True, count, None)


def _hash(prev: str, body: str) -> str:
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()
