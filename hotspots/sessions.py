"""The hotspot's session store: who is online until when, in SQLite (WAL).

A session is a device (MAC address, IPv4 address) that accepted the terms. Nothing else is
kept: no name, no e-mail, no telephone number. The store survives gateway restarts, which is
how a restart loses nobody: on start the gateway puts every active session back into its
nftables set (:meth:`villenum.hotspots.gateway.Gateway.install`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from villenum.errors import GatewayError
from villenum.hotspots._sqlite import connect_wal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    mac TEXT,
    ip TEXT NOT NULL,
    started_s REAL NOT NULL,
    expires_s REAL NOT NULL,
    ended_s REAL,
    end_reason TEXT,
    bytes_up INTEGER NOT NULL DEFAULT 0,
    bytes_down INTEGER NOT NULL DEFAULT 0,
    last_activity_s REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_active ON sessions (ended_s, ip);
"""


@dataclass(frozen=True)
class Session:
    """One accepted device; times are Unix seconds, ``ended_s`` is ``None`` while active."""

    id: int
    mac: str | None
    ip: str
    started_s: float
    expires_s: float
    ended_s: float | None
    end_reason: str | None
    bytes_up: int
    bytes_down: int
    last_activity_s: float

    def seconds_remaining(self, now_s: float) -> int:
        """Seconds until the session timeout (0 once past)."""
        return max(0, int(self.expires_s - now_s))


class SessionStore:
    """Sessions in an SQLite file in WAL mode, safe to share between threads.

    Parameters
    ----------
    path
        The database file (created with its folder); ``":memory:"`` for tests.
    clock
        Returns the current Unix time in seconds (injectable for tests).

    Raises
    ------
    GatewayError
        If the database cannot be opened.
    """

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        try:
            self._db, self._writing = connect_wal(path, _SCHEMA, self._lock)
        except (sqlite3.Error, OSError) as exc:
            raise GatewayError(f"cannot open the session store {path}: {exc}") from None

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
            self._writing.close()

    def start(
        self, mac: str | None, ip: str, timeout_s: float, replaced: list[Session] | None = None
    ) -> Session:
        """Open a session for a device, ending any active one that has its MAC or its IP.

        Parameters
        ----------
        mac
            The device's MAC address from the neighbour table (``None`` without enforcement).
        ip
            The device's IPv4 address.
        timeout_s
            Session length in seconds.
        replaced
            If given, receives the sessions this one ended (a new IP from DHCP, a reused IP),
            so that the caller can revoke their rules and log their end.

        Returns
        -------
        Session
        """
        now = self.clock()
        with self._writing:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                old = self._db.execute(
                    "SELECT id FROM sessions "
                    "WHERE ended_s IS NULL AND (ip=? OR (mac IS NOT NULL AND mac=?))",
                    (ip, mac),
                ).fetchall()
                self._db.execute(
                    "UPDATE sessions SET ended_s=?, end_reason='replaced' "
                    "WHERE ended_s IS NULL AND (ip=? OR (mac IS NOT NULL AND mac=?))",
                    (now, ip, mac),
                )
                cur = self._db.execute(
                    "INSERT INTO sessions (mac, ip, started_s, expires_s, last_activity_s) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (mac, ip, now, now + timeout_s, now),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            if replaced is not None:
                replaced.extend(s for (i,) in old if (s := self._get(i)) is not None)
            return self._get(int(cur.lastrowid or 0))

    def get(self, session_id: int) -> Session | None:
        """The session with this id, or ``None``."""
        with self._lock:
            return self._get(session_id)

    def _get(self, session_id: int) -> Session | None:
        row = self._db.execute("SELECT * FROM sessions WHERE id=?", (session_id,)).fetchone()
        return Session(*row) if row else None

    def active(self) -> list[Session]:
        """Every session not ended and not past its timeout."""
        now = self.clock()
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM sessions WHERE ended_s IS NULL AND expires_s > ? ORDER BY id", (now,)
            ).fetchall()
        return [Session(*r) for r in rows]

    def find_active(self, ip: str) -> Session | None:
        """The active session of the device with this IPv4 address, or ``None``."""
        now = self.clock()
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM sessions WHERE ended_s IS NULL AND expires_s > ? AND ip=? "
                "ORDER BY id DESC LIMIT 1",
                (now, ip),
            ).fetchone()
        return Session(*row) if row else None

    def mac_at(self, ip: str, at_s: float) -> str | None:
        """The MAC address that held ``ip`` at time ``at_s`` (for the legal log)."""
        with self._lock:
            row = self._db.execute(
                "SELECT mac FROM sessions WHERE ip=? AND started_s<=? "
                "AND COALESCE(ended_s, expires_s)>=? ORDER BY id DESC LIMIT 1",
                (ip, at_s, at_s - 1),
            ).fetchone()
        return row[0] if row else None

    def end(self, session_id: int, reason: str) -> Session | None:
        """End a session (``reason``: logout, kick, idle, quota, timeout); returns it, ended."""
        now = self.clock()
        with self._writing:
            self._db.execute(
                "UPDATE sessions SET ended_s=?, end_reason=? WHERE id=? AND ended_s IS NULL",
                (min(now, self._expiry(session_id, now)), reason, session_id),
            )
            return self._get(session_id)

    def _expiry(self, session_id: int, default: float) -> float:
        row = self._db.execute(
            "SELECT expires_s FROM sessions WHERE id=?", (session_id,)
        ).fetchone()
        return row[0] if row else default

    def expire(self) -> list[Session]:
        """End every session past its timeout; return them."""
        now = self.clock()
        with self._writing:
            rows = self._db.execute(
                "SELECT id FROM sessions WHERE ended_s IS NULL AND expires_s <= ?", (now,)
            ).fetchall()
            self._db.execute(
                "UPDATE sessions SET ended_s=expires_s, end_reason='timeout' "
                "WHERE ended_s IS NULL AND expires_s <= ?",
                (now,),
            )
            return [s for (i,) in rows if (s := self._get(i))]

    def add_traffic(self, session_id: int, bytes_up: int, bytes_down: int) -> Session | None:
        """Add counted bytes to a session; any traffic resets its idle clock."""
        now = self.clock()
        with self._writing:
            self._db.execute(
                "UPDATE sessions SET bytes_up=bytes_up+?, bytes_down=bytes_down+?, "
                "last_activity_s=CASE WHEN ?+?>0 THEN ? ELSE last_activity_s END WHERE id=?",
                (bytes_up, bytes_down, bytes_up, bytes_down, now, session_id),
            )
            return self._get(session_id)

    def stats(self) -> dict[str, float | int]:
        """Counts for the admin API: active sessions, sessions today, bytes, mean duration."""
        now = self.clock()
        with self._lock:
            active = self._db.execute(
                "SELECT COUNT(*) FROM sessions WHERE ended_s IS NULL AND expires_s > ?", (now,)
            ).fetchone()[0]
            day = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(bytes_up+bytes_down),0), "
                "COALESCE(AVG(COALESCE(ended_s, ?) - started_s), 0) "
                "FROM sessions WHERE started_s > ?",
                (now, now - 86400),
            ).fetchone()
        return {
            "active_sessions": int(active),
            "sessions_24h": int(day[0]),
            "bytes_24h": int(day[1]),
            "mean_session_s_24h": round(float(day[2]), 1),
        }

    def recent(self, limit: int = 200) -> list[Session]:
        """The most recent sessions, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM sessions ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [Session(*r) for r in rows]
