"""``villenum gateway run``: the ruleset, the portal, dnsmasq and the legal log.

The portal runs in worker processes sharing its port (:mod:`villenum.hotspots._gw_portal`);
this process keeps the ruleset, dnsmasq, the conntrack watcher and housekeeping.

On start the session store is reconciled with the kernel (every active session goes back
into the nftables set in the same transaction that installs the table); on SIGTERM the
table is removed and the sessions are kept, so the next start loses nobody. A housekeeping
loop reads the per-device nft counters to end idle and over-quota sessions and purges the
legal log after its retention period.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from villenum.hotspots._gw_portal import PortalWorkers, worker_count
from villenum.hotspots.gateway import Gateway
from villenum.hotspots.gateway_config import GatewaySettings
from villenum.hotspots.legal_log import LegalLog
from villenum.hotspots.sessions import Session, SessionStore

log = logging.getLogger(__name__)
PURGE_EVERY_S = 3600.0


class GatewayService:
    """Everything ``villenum gateway run`` starts, with explicit start/step/stop.

    Parameters
    ----------
    settings
        The gateway settings.
    clock
        Unix time in seconds for housekeeping (injectable for tests); the portal workers
        read the system clock.
    """

    def __init__(self, settings: GatewaySettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.store = SessionStore(settings.sessions_db, clock=clock)
        self.legal = (
            LegalLog(settings.legal_log_db, clock=clock)
            if settings.legal_log
            else None
        )
        self.gateway = Gateway(settings)
        self._counters: dict[int, tuple[int, int]] = {}
        self._stoppers: list[Callable[[], None]] = []
        self._last_purge = 0.0
        self._portal: PortalWorkers | None = None

    def start(self) -> int:
        """Install the rules with the active sessions, then start the portal and helpers.

        Returns
        -------
        int
            The number of devices restored from the session store.
        """
        for session in self.store.expire():  # sessions that ran out while we were stopped
            self._on_session("end", session)
        restored = self.gateway.install(self.store.active(), now_s=self.clock())
        self._stoppers.append(self.gateway.remove)
        if self.settings.dnsmasq:
            from villenum.hotspots.dnsmasq import start_dnsmasq

            proc = start_dnsmasq(self.settings)
            self._stoppers.append(lambda: _terminate(proc))
        if self.legal is not None:
            from villenum.hotspots._gw_conntrack import ConntrackWatcher

            watcher = ConntrackWatcher(
                self.legal,
                self.settings.lan_network,
                {self.settings.portal_address},
                self.store.mac_at,
            )
            watcher.start()
            self._stoppers.append(watcher.stop)
        self._portal = PortalWorkers(self.settings, worker_count(self.settings))
        self._portal.start()
        self._stoppers.append(self._portal.stop)
        self._write_status(restored)
        log.info(
            "gateway running: portal %s, %d device(s) restored", self.settings.portal_url, restored
        )
        return restored

    def stop(self) -> None:
        """Stop the helpers and remove the rules; the sessions stay in the store."""
        while self._stoppers:
            try:
                self._stoppers.pop()()
            except Exception:  # keep stopping the others: the rules must go
                log.exception("error while stopping the gateway")
        (self.settings.state_dir / "status.json").unlink(missing_ok=True)

    def step(self) -> None:
        """One housekeeping pass: counters, idle and quota, timeouts, legal-log purge."""
        now = self.clock()
        if self._portal is not None:
            self._portal.restart_dead()
        elements = {(e.mac, e.ip): e for e in self.gateway.elements()}
        down = self.gateway.download_bytes()
        quota = self.settings.quota_mb * 1_000_000
        for session in self.store.active():
            element = elements.get((session.mac or "", session.ip))
            if element is None:
                # someone flushed the set: the store is the reference, put the device back —
                # unless the portal ended the session since active() was read (a kick, a logout)
                latest = self.store.get(session.id)
                if latest is not None and latest.ended_s is None:
                    self.gateway.allow(session.mac, session.ip, session.expires_s - now)
                continue
            up_now, down_now = element.bytes_up, down.get(session.ip, 0)
            up_before, down_before = self._counters.get(session.id, (0, 0))
            self._counters[session.id] = (up_now, down_now)
            # a counter below its last value means the element was re-created
            d_up = up_now - up_before if up_now >= up_before else up_now
            d_down = down_now - down_before if down_now >= down_before else down_now
            current = session
            if d_up or d_down:  # one write per device that moved bytes: hundreds are online
                current = self.store.add_traffic(session.id, d_up, d_down) or session
            if now - current.last_activity_s > self.settings.idle_timeout_s:
                self._end(current, "idle")
            elif quota and current.bytes_up + current.bytes_down >= quota:
                self._end(current, "quota")
        for session in self.store.expire():
            self._flush(session.ip)
            self._on_session("end", session)
        if self.legal is not None and now - self._last_purge > PURGE_EVERY_S:
            purged = self.legal.purge(self.settings.gdpr.retention_days)
            self._last_purge = now
            if purged:
                log.info(
                    "legal log: %d record(s) older than %d days purged",
                    purged,
                    self.settings.gdpr.retention_days,
                )

    def _end(self, session: Session, reason: str) -> None:
        ended = self.store.end(session.id, reason)  # before the revoke, as the portal does
        self.gateway.revoke(session.mac, session.ip)
        self._counters.pop(session.id, None)
        if ended is not None:
            self._on_session("end", ended)

    def _flush(self, ip: str) -> None:
        subprocess.run(["conntrack", "-D", "-s", ip], capture_output=True, check=False)

    def _on_session(self, event: str, session: Session) -> None:
        if self.legal is not None:
            self.legal.log_session(event, session)

    def _write_status(self, restored: int) -> None:
        status = {
            "pid": os.getpid(),
            "started_s": self.clock(),
            "restored": restored,
            "portal_url": self.settings.portal_url,
        }
        (self.settings.state_dir / "status.json").write_text(json.dumps(status))


def run(settings: GatewaySettings) -> int:
    """Run the gateway in the foreground until SIGTERM or SIGINT; return the exit status."""
    service = GatewayService(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        service.start()
        print(
            f"villenum gateway: portal on {settings.portal_url} "
            f"(LAN {settings.lan_interface}, WAN {settings.wan_interface})",
            flush=True,
        )
        while not stop.wait(settings.poll_interval_s):
            try:
                service.step()
            except Exception:  # a failed pass must not take the hotspot down
                log.exception("housekeeping pass failed")
    finally:
        service.stop()
    return 0


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


def read_status(state_dir: Path) -> dict[str, object] | None:
    """The running gateway's status file, or ``None`` when it is not running."""
    try:
        status = json.loads((state_dir / "status.json").read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(int(status["pid"]), 0)
    except (OSError, KeyError, ValueError):
        return None
    return status
