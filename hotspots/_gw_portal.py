"""The captive portal's worker processes, sharing the portal port.

One Python process serves a few hundred portal requests per second (one interpreter lock); a
beach crowd accepting at once wants every core. Each worker binds the portal address with
``SO_REUSEPORT``, so the kernel spreads new connections across them, and owns its own
connections to the session store and the legal log — SQLite serialises writers across
processes and the legal log extends its hash chain inside the write transaction — and its
own nftables handle (every change is one kernel transaction). The parent, ``villenum gateway
run``, keeps the ruleset, dnsmasq, the conntrack watcher and housekeeping, and starts a new
worker when one dies.

Workers are fresh interpreters (:func:`villenum.hotspots._spawn.spawn_worker`); one stops on
SIGTERM, or when its parent is gone (its end of the socket pair closes).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
from multiprocessing.connection import Connection

from villenum.errors import GatewayError
from villenum.hotspots._spawn import spawn_worker
from villenum.hotspots.gateway_config import GatewaySettings

log = logging.getLogger(__name__)

# few threads: each one more costs every request GIL hand-offs (measured: 16 threads cost
# a 302 twice the CPU of 2); group commit still batches what queues meanwhile
_THREADS_PER_WORKER = 4
_START_TIMEOUT_S = 60.0


def worker_count(settings: GatewaySettings) -> int:
    """``portal_workers`` from the settings; 0 means one per CPU core this process may use."""
    return settings.portal_workers or len(os.sched_getaffinity(0))


def serve(fd: int) -> None:
    """A portal worker's life on socket ``fd``: receive the settings, listen, say so, serve."""
    from villenum.hotspots.gateway import Gateway, NeighbourTable
    from villenum.hotspots.legal_log import LegalLog
    from villenum.hotspots.sessions import SessionStore
    from villenum.portal.app import create_app
    from villenum.portal.server import make_server

    conn = Connection(fd)
    settings, log_level = conn.recv()
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")
    stop_requested = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop_requested.set())
    try:
        store = SessionStore(settings.sessions_db)
        legal = LegalLog(settings.legal_log_db) if settings.legal_log else None
        app = create_app(
            settings,
            store=store,
            enforcer=Gateway(settings),
            identify=NeighbourTable(settings.lan_interface).lookup,
            on_session=legal.log_session if legal is not None else None,
        )
        run, stop = make_server(
            app,
            settings.portal_address,
            settings.portal_port,
            settings,
            threads=_THREADS_PER_WORKER,
            reuse_port=True,
        )
    except GatewayError as exc:
        conn.send(str(exc))
        return
    conn.send(None)
    server = threading.Thread(target=run, name="portal", daemon=True)
    server.start()
    threading.Thread(target=_until_parent_gone, args=(conn, stop_requested), daemon=True).start()
    stop_requested.wait()
    stop()
    server.join(timeout=5)
    store.close()
    if legal is not None:
        legal.close()


def _until_parent_gone(conn: Connection, stop_requested: threading.Event) -> None:
    # the parent never writes again: the read ends when its end closes (it stopped or died)
    with contextlib.suppress(EOFError, OSError):
        conn.recv()
    stop_requested.set()


class PortalWorkers:
    """``count`` portal processes serving ``settings.portal_address:portal_port``.

    Parameters
    ----------
    settings
        The gateway settings.
    count
        How many worker processes (see :func:`worker_count`).
    """

    def __init__(self, settings: GatewaySettings, count: int) -> None:
        self.settings = settings
        self.count = count
        self._workers: list[tuple[subprocess.Popen[bytes], Connection]] = []

    def start(self) -> None:
        """Start the workers and wait until every one listens.

        Raises
        ------
        GatewayError
            If a worker cannot start (the port is taken, a TLS file is unreadable...).
        """
        self._workers = [self._spawn() for _ in range(self.count)]
        try:
            for worker in self._workers:
                _wait_ready(*worker)
        except GatewayError:
            self.stop()
            raise

    def restart_dead(self) -> int:
        """Replace workers that exited; return how many were replaced."""
        dead = [w for w in self._workers if w[0].poll() is not None]
        for process, conn in dead:
            log.error("portal worker %d exited with %s: starting another", process.pid,
                      process.returncode)  # fmt: skip
            conn.close()
            self._workers.remove((process, conn))
            worker = self._spawn()
            self._workers.append(worker)
            _wait_ready(*worker)
        return len(dead)

    def stop(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL after 5 s)."""
        for process, _ in self._workers:
            if process.poll() is None:
                process.terminate()
        for process, conn in self._workers:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            conn.close()
        self._workers = []

    def _spawn(self) -> tuple[subprocess.Popen[bytes], Connection]:
        level = logging.getLogger().getEffectiveLevel()
        return spawn_worker("villenum.hotspots._gw_portal:serve", (self.settings, level))


def _wait_ready(process: subprocess.Popen[bytes], conn: Connection) -> None:
    try:
        if not conn.poll(_START_TIMEOUT_S):
            raise GatewayError(f"the portal worker did not start in {_START_TIMEOUT_S:.0f} s")
        error = conn.recv()
    except EOFError:
        raise GatewayError(
            f"the portal worker exited while starting (status {process.wait()})"
        ) from None
    if error is not None:
        raise GatewayError(error)
