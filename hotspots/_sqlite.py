"""The gateway's SQLite databases (sessions, legal log): one way to open and to write them."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from pathlib import Path


def connect_wal(
    path: str | Path, schema: str, thread_lock: threading.Lock
) -> tuple[sqlite3.Connection, WriterLock]:
    """Open (creating if needed) a WAL-mode database shared by the gateway's threads and
    processes, with the :class:`WriterLock` its writers take.

    WAL + ``synchronous=NORMAL``: a crash of the process loses nothing; a power cut may lose the
    last moments, as it loses the kernel's connection tracking itself. Autocommit mode
    (``isolation_level=None``) leaves transactions to explicit ``BEGIN``/``COMMIT``.

    Parameters
    ----------
    path
        The database file, or ``":memory:"``.
    schema
        SQL run at every open (``CREATE ... IF NOT EXISTS``).
    thread_lock
        The lock that serialises this process's use of the connection.

    Raises
    ------
    sqlite3.Error, OSError
        The callers turn them into their own one-line errors.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    writing = WriterLock(path, thread_lock)
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    # portal workers open the same new file together: switching it to WAL and creating the
    # tables is writing, and SQLite may refuse a second process at once instead of waiting
    with writing:
        db.execute("PRAGMA busy_timeout=5000")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(schema)
    return db, writing


class WriterLock:
    """The right to write one database, for one thread of one process at a time.

    SQLite makes a blocked writer retry after sleeps of 1, 2, 5, 10, 15... ms (its busy
    handler): with several portal processes writing during a crowd of accepts those sleeps
    add up to hundreds of milliseconds. An ``flock(2)`` on a file beside the database queues
    the writers in the kernel instead, which wakes the next one as soon as the lock is free
    (and releases it if its holder dies).

    Parameters
    ----------
    path
        The database file (``":memory:"``: threads only).
    thread_lock
        The lock that already serialises this process's use of the connection.
    """

    def __init__(self, path: str | Path, thread_lock: threading.Lock) -> None:
        self._thread_lock = thread_lock
        self._fd = (
            None
            if str(path) == ":memory:"
            else os.open(f"{path}.writer-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        )

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._thread_lock.release()
                raise

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()

    def close(self) -> None:
        """Close the lock file (after the database)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
