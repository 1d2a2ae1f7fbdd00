"""Alerts on hotspot state changes: to the log and an optional JSON webhook.

A problem (``down`` or ``degraded``) is notified once it has lasted ``delay_s`` (on top of the
health hysteresis), re-notified every ``renotify_s`` while it lasts, and its recovery is
notified only if the problem was. A flapping hotspot sends one ``flapping-start`` notice and
nothing else until ``flapping-stop``: no alert storm. When more than ``storm_threshold``
hotspots call for the same notification in one cycle (a shared uplink or a power cut), one
``problem-storm`` (``renotify-storm``, ``recovery-storm``) notice lists them all instead.
The alerting state is persisted with the monitor's store, so a restart neither repeats nor
forgets notifications.

Webhook payload (HTTP POST, ``application/json``)::

    {"event": "problem" | "renotify" | "recovery" | "flapping-start" | "flapping-stop",
     "hotspot": "bz-phare-01", "name": "Phare", "state": "down", "reason": "host-down: ...",
     "since": 1767225600.0, "time": 1767225690.0, "score": 0}

A storm notice is ``{"event": "problem-storm", "count": 120, "states": {"down": 120},
"hotspots": ["bz-...", ...], "time": ...}``.

Webhook failures are logged and never stop the monitor.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from villenum.hotspots.health import HealthState, Transition

log = logging.getLogger("villenum.monitor.alerts")

PROBLEM_STATES = ("down", "degraded")


@dataclass(frozen=True)
class AlertConfig:
    """When and where to notify."""

    delay_s: float = 30.0
    renotify_s: float = 3600.0
    storm_threshold: int = 10
    webhook_url: str | None = None
    webhook_timeout_s: float = 5.0


class Alerter:
    """Turns health states into notifications.

    Parameters
    ----------
    config
        Delay, re-notify interval and webhook.
    state
        Persisted per-hotspot alerting state (from :meth:`Store.alert_states`).
    sink
        Extra callable receiving every notification dict (tests, other channels).
    """

    def __init__(
        self,
        config: AlertConfig | None = None,
        state: dict[str, dict[str, Any]] | None = None,
        sink: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.config = config or AlertConfig()
        self.state: dict[str, dict[str, Any]] = state or {}
        self.sink = sink
        self._pool = ThreadPoolExecutor(1, "villenum-webhook") if self.config.webhook_url else None

    def process(
        self,
        names: dict[str, str],
        health: dict[str, HealthState],
        transitions: list[Transition],
        now_s: float,
    ) -> list[dict[str, Any]]:
        """Send what the current health calls for; returns the notifications sent."""
        sent = []
        due: dict[str, list[tuple[str, HealthState]]] = {"problem": [], "renotify": [],
                                                          "recovery": []}  # fmt: skip
        for t in transitions:
            if t.kind in ("flapping-start", "flapping-stop"):
                sent.append(self._notify(t.kind, t.hotspot_id, names, health[t.hotspot_id], now_s))
        for hotspot_id, h in health.items():
            st = self.state.setdefault(hotspot_id, {"notified": None, "last_s": None})
            if h.flapping:
                continue
            if h.state in PROBLEM_STATES:
                since = h.since_s if h.since_s is not None else now_s
                if st["notified"] != h.state and now_s - since >= self.config.delay_s:
                    due["problem"].append((hotspot_id, h))
                    st.update(notified=h.state, last_s=now_s)
                elif (
                    st["notified"] == h.state
                    and now_s - (st["last_s"] or 0) >= self.config.renotify_s
                ):
                    due["renotify"].append((hotspot_id, h))
                    st["last_s"] = now_s
            elif h.state == "up" and st["notified"] in PROBLEM_STATES:
                due["recovery"].append((hotspot_id, h))
                st.update(notified=None, last_s=now_s)
        for event, items in due.items():
            if len(items) > self.config.storm_threshold:
                sent.append(self._storm(event, items, now_s))
            else:
                sent += [self._notify(event, i, names, h, now_s) for i, h in items]
        return sent

    def _storm(
        self, event: str, items: list[tuple[str, HealthState]], now_s: float
    ) -> dict[str, Any]:
        """One notice for many hotspots at once (a shared uplink or power cut, a recovery)."""
        states: dict[str, int] = {}
        for _, h in items:
            states[h.state] = states.get(h.state, 0) + 1
        payload = {"event": f"{event}-storm", "count": len(items), "states": states,
                   "hotspots": [i for i, _ in items], "time": now_s}  # fmt: skip
        listed = " ".join(payload["hotspots"][:20]) + (" ..." if len(items) > 20 else "")
        summary = ", ".join(f"{n} {k}" for k, n in states.items())
        log.warning("%d hotspots %s at once (%s): %s", len(items), event, summary, listed)
        self._deliver(payload)
        return payload

    def _notify(
        self, event: str, hotspot_id: str, names: dict[str, str], h: HealthState, now_s: float
    ) -> dict[str, Any]:
        payload = {
            "event": event, "hotspot": hotspot_id, "name": names.get(hotspot_id, hotspot_id),
            "state": h.state, "reason": h.reason, "since": h.since_s, "time": now_s,
            "score": h.score,
        }  # fmt: skip
        level = logging.INFO if event in ("recovery", "flapping-stop") else logging.WARNING
        log.log(level, "hotspot %s (%s) %s: %s – %s", hotspot_id, payload["name"], event,
                h.state.upper(), h.reason)  # fmt: skip
        self._deliver(payload)
        return payload

    def _deliver(self, payload: dict[str, Any]) -> None:
        if self.sink is not None:
            self.sink(payload)
        if self._pool is not None:
            self._pool.submit(self._post, payload)

    def _post(self, payload: dict[str, Any]) -> None:
        url = self.config.webhook_url or ""
        request = urllib.request.Request(
            url, json.dumps(payload).encode(), {"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.config.webhook_timeout_s) as rsp:
                rsp.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            log.error("alert webhook %s failed: %s", url, exc)

    def close(self) -> None:
        """Wait for pending webhook posts."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
