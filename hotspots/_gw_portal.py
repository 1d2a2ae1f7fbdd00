"""The captive portal's worker processes, sharing the portal port.

One Python process serves a few hundred portal requests per second (one interpreter lock); a
beach crowd accepting at once wants every core. Each worker binds the portal address with
``SO_REUSEPORT``, so the kernel spreads new connections across them, and owns its own
connections to the session store and the legal log — SQLite serialises writers across
processes and the legal log extends its hash chain inside the write transaction — and its
own nftables handle (every change is one kernel transaction). The parent, ``villenum gateway
run``, keeps the ruleset, dnsmasq, the conntrack watcher and housekeeping, and starts a new
worker when one dies.

Workers are spawned, not forked: the parent runs threads and holds open databases.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from multiprocessing.connection import Connection
from typing import Any

from villenum.errors import GatewayError
from villenum.hotspots.gateway_config import GatewaySettings

log = logging.getLogger(__name__)

# few threads: each one more costs every request GIL hand-offs (measured: 16 threads cost
# a 302 twice the CPU of 2); group commit still batches what queues meanwhile
_THREADS_PER_WORKER = 4
_START_TIMEOUT_S = 60.0


def worker_count(settings: GatewaySettings) -> int:
    """``portal_workers`` from the settings; 0 means one per CPU core this process may use."""
    return settings.portal_workers or len(os.sched_getaffinity(0))


def _worker_main(settings: GatewaySettings, log_level: int, conn: Connection) -> None:
    from villenum.hotspots.gateway import Gateway, NeighbourTable
    from villenum.hotspots.legal_log import LegalLog
    from villenum.hotspots.sessions import SessionStore
    from villenum.portal.app import create_app
    from villenum.portal.server import make_server

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
    stop_requested.wait()
    stop()
    server.join(timeout=5)
    store.close()
    if legal is not None:
        legal.close()


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
        self._context = multiprocessing.get_context("spawn")
        self._processes: list[Any] = []

    def start(self) -> None:
        """Start the workers and wait until every one listens.

        Raises
        ------
        GatewayError
            If a worker cannot start (the port is taken, a TLS file is unreadable...).
        """
        pending = [self._spawn() for _ in range(self.count)]
        self._processes = [process for process, _ in pending]
        try:
            for process, conn in pending:
                self._wait_ready(process, conn)
        except GatewayError:
            self.stop()
            raise

    def restart_dead(self) -> int:
        """Replace workers that exited; return how many were replaced."""
        dead = [p for p in self._processes if not p.is_alive()]
        for process in dead:
            log.error("portal worker %d exited with %s: starting another", process.pid,
                      process.exitcode)  # fmt: skip
            self._processes.remove(process)
            process, conn = self._spawn()
            self._processes.append(process)
            self._wait_ready(process, conn)
        return len(dead)

    def stop(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL after 5 s)."""
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        for process in self._processes:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
        self._processes = []

    def _spawn(self) -> tuple[Any, Connection]:
        parent, child = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_worker_main,
            args=(self.settings, logging.getLogger().getEffectiveLevel(), child),
            name="villenum-portal",
            daemon=True,
        )
        process.start()
        child.close()
        return process, parent

    @staticmethod
    def _wait_ready(process: Any, conn: Connection) -> None:
        try:
            if not conn.poll(_START_TIMEOUT_S):
                raise GatewayError(f"the portal worker did not start in {_START_TIMEOUT_S:.0f} s")
            error = conn.recv()
        except EOFError:
            process.join(1)
            raise GatewayError(
                f"the portal worker exited while starting (status {process.exitcode})"
            ) from None
        finally:
            conn.close()
        if error is not None:
            raise GatewayError(error)
