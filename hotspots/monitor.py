"""The monitor loop: poll, compute rates, update health, store, alert — cycle after cycle.

Scheduling follows Nagios' soft/hard states: every hotspot is polled each ``interval_s``; one
whose last poll failed but is not yet ``down`` is re-polled every ``retry_interval_s`` until
the ``down_after`` failures are reached (or it answers again), and one recovering from
``down`` likewise until ``up_after`` successes. With the defaults (60 s, 10 s, 3 failures,
1 s timeout and 1 retry) a dead hotspot is ``down`` about 90 s after it died at worst, while a
single lost packet raises nothing.

Every cycle's statuses are stored (see :mod:`villenum.hotspots.store`) together with the
last raw samples and health states, so a restarted monitor continues where it stopped: the
first poll after a restart already has rates and hysteresis counters.

A status (one element of ``villenum monitor poll --json``'s ``hotspots`` list; a contract)::

    {"id": "bz-phare-01", "name": "Phare", "zone": "Phare", "lat": 43.49, "lon": -1.55,
     "state": "up" | "degraded" | "down" | "unknown", "reason": "ok", "score": 96,
     "flapping": false, "since": 1767225600.0, "last_poll": 1767225690.0,
     "metrics": {"reason_code": "ok", "uptime_s": ..., "cpu_pct": ..., "mem_pct": ...,
                 "clients": ..., "max_clients": 60, "channel_util_pct": ..., "noise_dbm": ...,
                 "uplink_if": "eth0", "uplink_up": true, "uplink_speed_mbps": 1000,
                 "counter_bits": 64, "interfaces_up": 2, "rtt_ms": null, "poll_ms": 3.1,
                 "sys_descr": "..."},
     "rates": {"uplink_in_bps": ..., "uplink_out_bps": ..., "uplink_in_pps": ...,
               "uplink_out_pps": ..., "error_ratio": ..., "discard_ratio": ...,
               "interval_s": 60.0, "note": "ok"}}

Unknown values are ``null``. Rates are in bits (or packets) per second between this sample and
the previous good one, ``null`` with ``note`` saying why (first sample, agent restarted, ...).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from villenum.hotspots._snmp_rates import Rates, compute_rates
from villenum.hotspots.alerts import AlertConfig, Alerter
from villenum.hotspots.health import HealthConfig, HealthState, update
from villenum.hotspots.inventory import Hotspot
from villenum.hotspots.snmp import PollerOptions, Sample, SnmpPoller
from villenum.hotspots.store import Store

log = logging.getLogger("villenum.monitor")


@dataclass(frozen=True)
class MonitorConfig:
    """Everything the monitor loop is tuned by."""

    interval_s: float = 60.0
    retry_interval_s: float = 10.0
    downsample_every_s: float = 300.0
    health: HealthConfig = field(default_factory=HealthConfig)
    poller: PollerOptions = field(default_factory=PollerOptions)
    alerts: AlertConfig = field(default_factory=AlertConfig)


class Monitor:
    """Watches an inventory and keeps the store up to date.

    Parameters
    ----------
    hotspots
        The inventory.
    store
        The open database (its saved samples and health states are picked up).
    config
        Intervals, thresholds, poller and alert settings.
    alert_sink
        Optional callable receiving every alert notification (besides log and webhook).
    """

    def __init__(
        self,
        hotspots: Sequence[Hotspot],
        store: Store,
        config: MonitorConfig | None = None,
        alert_sink: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.hotspots = list(hotspots)
        self.store = store
        self.config = config or MonitorConfig()
        self.poller = SnmpPoller(self.config.poller)
        ids = {h.id for h in self.hotspots}
        self.last_samples = {
            k: Sample.from_dict(v) for k, v in store.last_samples().items() if k in ids
        }
        for hotspot_id, sample in self.last_samples.items():
            if sample.uplink is not None:
                self.poller.remember_uplink(hotspot_id, sample.uplink.name)
        self.health = {
            h.id: HealthState.from_dict(store.health_states().get(h.id, {})) for h in self.hotspots
        }
        self.alerter = Alerter(self.config.alerts, store.alert_states(), alert_sink)
        self.last_poll_s: dict[str, float] = {}
        self._last_downsample = 0.0
        store.set_hotspots(h.public_dict() for h in self.hotspots)

    def due(self, now_s: float) -> list[Hotspot]:
        """Hotspots to poll now: interval elapsed, or retrying a soft failure or recovery."""
        result = []
        for h in self.hotspots:
            last = self.last_poll_s.get(h.id)
            if last is None or now_s - last >= self.config.interval_s - 0.5:
                result.append(h)
                continue
            state = self.health[h.id]
            retrying = (state.state != "down" and state.failures > 0) or (
                state.state == "down" and state.successes > 0
            )
            if retrying and now_s - last >= self.config.retry_interval_s - 0.5:
                result.append(h)
        return result

    async def cycle(self, hotspots: Sequence[Hotspot] | None = None) -> list[dict[str, Any]]:
        """Poll hotspots (default: all), update health, store and alert.

        Returns
        -------
        list of dict
            The statuses of the polled hotspots (format in the module docstring).
        """
        hotspots = self.hotspots if hotspots is None else list(hotspots)
        samples = await self.poller.poll_many(hotspots)
        return await asyncio.to_thread(self._process, hotspots, samples)

    def _process(
        self, hotspots: Sequence[Hotspot], samples: Sequence[Sample]
    ) -> list[dict[str, Any]]:
        statuses, transitions = [], []
        new_last: dict[str, dict[str, Any]] = {}
        for hotspot, sample in zip(hotspots, samples, strict=True):
            self.last_poll_s[hotspot.id] = sample.time_s
            health = self.health[hotspot.id]
            if sample.reason == "not-deployed":
                health.state, health.reason, health.score = (
                    "unknown",
                    "not-deployed: no management address",
                    0,
                )
                statuses.append(self._status(hotspot, sample, Rates(note="no data"), health))
                continue
            rates = (
                compute_rates(self.last_samples.get(hotspot.id), sample)
                if sample.ok
                else Rates(note="no data")
            )
            health, changes = update(health, sample, rates, hotspot, self.config.health)
            transitions += changes
            if sample.ok:
                self.last_samples[hotspot.id] = sample
                new_last[hotspot.id] = sample.to_dict()
            statuses.append(self._status(hotspot, sample, rates, health))
        now = time.time()
        names = {h.id: h.name for h in self.hotspots}
        self.alerter.process(names, {h.id: self.health[h.id] for h in hotspots}, transitions, now)
        for t in transitions:
            level = logging.WARNING if t.new in ("down", "degraded") else logging.INFO
            log.log(level, "%s: %s %s -> %s (%s)", t.hotspot_id, t.kind, t.old, t.new, t.reason)
        self.store.save_cycle(
            statuses,
            new_last,
            {h.id: self.health[h.id].to_dict() for h in hotspots},
            [asdict(t) for t in transitions],
            self.alerter.state,
        )
        if now - self._last_downsample >= self.config.downsample_every_s:
            self.store.downsample(now)
            self._last_downsample = now
        return statuses

    def _status(
        self, hotspot: Hotspot, sample: Sample, rates: Rates, health: HealthState
    ) -> dict[str, Any]:
        last = sample if sample.ok else self.last_samples.get(hotspot.id)
        up = last.uplink if last is not None else None
        metrics = {
            "reason_code": sample.reason,
            "uptime_s": None if last is None or last.uptime_cs is None else last.uptime_cs / 100,
            "cpu_pct": sample.cpu_pct, "mem_pct": sample.mem_pct, "clients": sample.clients,
            "max_clients": hotspot.max_clients, "channel_util_pct": sample.channel_util_pct,
            "noise_dbm": sample.noise_dbm,
            "uplink_if": up.name if up else hotspot.uplink_if,
            "uplink_up": up.oper_up if up and sample.ok else None,
            "uplink_speed_mbps": up.speed_mbps if up else None,
            "counter_bits": up.counter_bits if up else None,
            "interfaces_up": sample.interfaces_up, "rtt_ms": sample.rtt_ms,
            "poll_ms": round(sample.poll_s * 1000, 1),
            "sys_descr": last.sys_descr if last else None,
            "last_ok": health.last_ok_s,
        }  # fmt: skip
        return {
            "id": hotspot.id, "name": hotspot.name, "zone": hotspot.zone,
            "lat": hotspot.lat, "lon": hotspot.lon,
            "state": health.state, "reason": health.reason, "score": health.score,
            "flapping": health.flapping, "since": health.since_s, "last_poll": sample.time_s,
            "metrics": metrics, "rates": rates.to_dict(),
        }  # fmt: skip

    async def run(self, stop: threading.Event | None = None, cycles: int | None = None) -> None:
        """Poll forever (or ``cycles`` ticks) until ``stop`` is set."""
        stop = stop or threading.Event()
        tick = min(self.config.retry_interval_s, self.config.interval_s)
        done = 0
        try:
            while not stop.is_set() and (cycles is None or done < cycles):
                started = time.time()
                due = self.due(started)
                if due:
                    statuses = await self.cycle(due)
                    bad = sum(1 for s in statuses if s["state"] in ("down", "degraded"))
                    log.info("polled %d hotspots in %.1f s (%d down or degraded)", len(due),
                             time.time() - started, bad)  # fmt: skip
                done += 1
                wait = max(0.0, tick - (time.time() - started))
                if await asyncio.to_thread(stop.wait, wait):
                    break
        finally:  # also on Ctrl-C or an error: no orphaned workers, no open sockets
            await self.aclose()

    def close(self) -> None:
        """Stop the poller's worker processes and flush pending webhook posts."""
        self.poller.close()
        self.alerter.close()

    async def aclose(self) -> None:
        """:meth:`close`, and close the SNMP engines of the running loop too."""
        await self.poller.aclose()
        await asyncio.to_thread(self.alerter.close)
