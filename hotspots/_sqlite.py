"""The gateway's SQLite databases (sessions, legal log): one way to open them."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect_wal(path: str | Path, schema: str) -> sqlite3.Connection:
    """Open (creating if needed) a WAL-mode database shared by the gateway's threads.

    WAL + ``synchronous=NORMAL``: a crash of the process loses nothing; a power cut may lose the
    last moments, as it loses the kernel's connection tracking itself. Autocommit mode
    (``isolation_level=None``) leaves transactions to explicit ``BEGIN``/``COMMIT``.

    Raises
    ------
    sqlite3.Error, OSError
        The callers turn them into their own one-line errors.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(schema)
    return db
