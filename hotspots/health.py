"""Health of a hotspot: a state machine with hysteresis, flap detection and a 0–100 score.

States are ``up``, ``degraded``, ``down`` and ``unknown`` (never polled successfully nor failed
long enough to be called down). Each poll gives a raw result: ``fail`` (no usable SNMP
answer), ``warn`` (answers, but uplink down or missing, error ratio, CPU, memory or client load
above thresholds) or ``ok``.

Hysteresis
    A hotspot goes ``down`` after ``down_after`` consecutive failures and comes back after
    ``up_after`` consecutive successes; a single lost UDP packet raises no alarm.
Flap detection
    As Nagios does: the last ``flap_window`` raw results are kept; each change of result
    between successive polls counts with a weight rising linearly from 0.8 (oldest) to 1.2
    (newest); the percent state change is ``100 * sum(weights of changes) / (window - 1)``.
    A hotspot starts flapping when it reaches ``flap_high_pct`` and stops when it falls below
    ``flap_low_pct``. While flapping, alerts are suppressed (one "flapping" notice instead).
Score
    ``score = round(100 * R * (0.40 U + 0.20 E + 0.20 L + 0.20 F))`` where

    - R, reachability: 1 if SNMP answered, 0.25 if only ICMP echo did, 0 otherwise;
    - U, uplink: 1 if the uplink is up, 0 if down or missing, 0.5 if unknown;
    - E, errors: ``1 - min(1, error_ratio / 0.05)`` (5 % errored packets scores 0; 1 if unknown);
    - L, load: 1 up to 80 % of ``max_clients``, falling linearly to 0 at 120 % (1 if unknown);
    - F, freshness: 1 if the last good sample is at most 1.5 poll intervals old, falling
      linearly to 0 at 5 intervals.

References
----------
Nagios Core documentation, "Detection and Handling of State Flapping" (weighted percent state
change over the last 21 checks, low and high thresholds).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from villenum.hotspots._snmp_rates import Rates
from villenum.hotspots.inventory import Hotspot
from villenum.hotspots.snmp import Sample

STATES = ("up", "degraded", "down", "unknown")


@dataclass(frozen=True)
class HealthConfig:
    """Thresholds of the health state machine (see the module docstring)."""

    down_after: int = 3
    up_after: int = 2
    flap_window: int = 21
    flap_low_pct: float = 20.0
    flap_high_pct: float = 30.0
    max_error_ratio: float = 0.01
    max_cpu_pct: float = 95.0
    max_mem_pct: float = 95.0
    max_load: float = 1.0
    interval_s: float = 60.0


@dataclass
class HealthState:
    """The persisted health of one hotspot."""

    state: str = "unknown"
    reason: str = "not polled yet"
    since_s: float | None = None
    failures: int = 0
    successes: int = 0
    history: list[str] = field(default_factory=list)
    flapping: bool = False
    flap_pct: float = 0.0
    last_ok_s: float | None = None
    score: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HealthState:
        """Rebuild from :meth:`to_dict` output (unknown keys ignored)."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Transition:
    """A change worth telling: ``kind`` is ``state``, ``flapping-start`` or ``flapping-stop``."""

    hotspot_id: str
    kind: str
    old: str
    new: str
    reason: str
    time_s: float


def assess(
    sample: Sample, rates: Rates | None, hotspot: Hotspot, config: HealthConfig
) -> tuple[str, str]:
    """Raw result of one poll, ``("ok" | "warn" | "fail", reason sentence)``."""
    if not sample.ok:
        return "fail", f"{sample.reason}: {sample.detail}" if sample.detail else sample.reason
    problems = []
    if sample.uplink is None:
        wanted = hotspot.uplink_if or "any up interface"
        problems.append(f"uplink-missing: no interface {wanted!r}")
    elif not sample.uplink.oper_up:
        problems.append(f"uplink-down: {sample.uplink.name} is down")
    if (
        rates is not None
        and rates.error_ratio is not None
        and rates.error_ratio > config.max_error_ratio
    ):
        problems.append(f"errors: {100 * rates.error_ratio:.1f} % of uplink packets errored")
    if sample.cpu_pct is not None and sample.cpu_pct > config.max_cpu_pct:
        problems.append(f"cpu: {sample.cpu_pct:.0f} % busy")
    if sample.mem_pct is not None and sample.mem_pct > config.max_mem_pct:
        problems.append(f"memory: {sample.mem_pct:.0f} % used")
    if sample.clients is not None and sample.clients >= config.max_load * hotspot.max_clients:
        problems.append(f"load: {sample.clients:.0f} clients for {hotspot.max_clients}")
    if problems:
        return "warn", "; ".join(problems)
    return "ok", "ok"


def percent_state_change(history: list[str]) -> float:
    """Nagios weighted percent state change of a result history (oldest first), 0–100."""
    n = len(history)
    if n < 3:
        return 0.0
    total = 0.0
    for j in range(n - 1):
        if history[j] != history[j + 1]:
            total += 0.8 + 0.4 * j / (n - 2)
    return 100.0 * total / (n - 1)


def update(
    state: HealthState,
    sample: Sample,
    rates: Rates | None,
    hotspot: Hotspot,
    config: HealthConfig,
) -> tuple[HealthState, list[Transition]]:
    """Advance a hotspot's health with one sample.

    Parameters
    ----------
    state
        The current health (modified in place and returned).
    sample, rates
        The new poll result and its rates against the previous sample.
    hotspot
        The inventory entry (``max_clients``, ``uplink_if``).
    config
        Thresholds.

    Returns
    -------
    (HealthState, list of Transition)
        The updated state and the transitions it went through (possibly none).
    """
    now = sample.time_s
    result, reason = assess(sample, rates, hotspot, config)
    old = state.state
    transitions: list[Transition] = []
    if result == "fail":
        state.failures += 1
        state.successes = 0
        if old != "down" and state.failures >= config.down_after:
            state.state = "down"
        elif old != "down":
            reason = f"{reason} ({state.failures}/{config.down_after} failed polls)"
    else:
        state.successes += 1
        state.failures = 0
        state.last_ok_s = now
        healthy = "up" if result == "ok" else "degraded"
        if old != "down" or state.successes >= config.up_after:
            state.state = healthy
        else:
            reason = f"recovering ({state.successes}/{config.up_after} good polls): {reason}"
    state.reason = reason
    if state.state != old:
        state.since_s = now
        transitions.append(Transition(hotspot.id, "state", old, state.state, reason, now))
    elif state.since_s is None:
        state.since_s = now
    if not state.history:  # as Nagios: start from a steady history, not a burst of changes
        state.history = [result] * config.flap_window
    state.history = [*state.history, result][-config.flap_window :]
    state.flap_pct = percent_state_change(state.history)
    if not state.flapping and state.flap_pct >= config.flap_high_pct:
        state.flapping = True
        transitions.append(
            Transition(hotspot.id, "flapping-start", state.state, state.state,
                       f"state changes in {state.flap_pct:.0f} % of recent polls", now)
        )  # fmt: skip
    elif state.flapping and state.flap_pct < config.flap_low_pct:
        state.flapping = False
        transitions.append(
            Transition(hotspot.id, "flapping-stop", state.state, state.state,
                       f"stable again ({state.flap_pct:.0f} % state change)", now)
        )  # fmt: skip
    state.score = health_score(sample, rates, hotspot, state.last_ok_s, now, config.interval_s)
    return state, transitions


def health_score(
    sample: Sample,
    rates: Rates | None,
    hotspot: Hotspot,
    last_ok_s: float | None,
    now_s: float,
    interval_s: float,
) -> int:
    """The 0–100 health score (formula in the module docstring)."""
    if sample.ok:
        reach = 1.0
    elif sample.reason == "snmp-down":
        reach = 0.25
    else:
        return 0
    if sample.uplink is None:
        uplink = 0.0 if sample.ok else 0.5
    else:
        uplink = 1.0 if sample.uplink.oper_up else 0.0
    errors = 1.0
    if rates is not None and rates.error_ratio is not None:
        errors = 1.0 - min(1.0, rates.error_ratio / 0.05)
    load = 1.0
    if sample.clients is not None:
        ratio = sample.clients / hotspot.max_clients
        load = min(1.0, max(0.0, (1.2 - ratio) / 0.4))
    fresh = 0.0
    if last_ok_s is not None:
        age = (now_s - last_ok_s) / interval_s
        fresh = min(1.0, max(0.0, (5.0 - age) / 3.5))
    return round(100 * reach * (0.40 * uplink + 0.20 * errors + 0.20 * load + 0.20 * fresh))
