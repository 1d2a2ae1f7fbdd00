"""Rates from two successive samples: counter wraps, reboots and discontinuities handled.

A rate is only reported when the two samples are comparable; otherwise it is ``None`` and
``note`` says why. Never a negative or absurd rate:

- 64-bit counters (``ifHCInOctets``) are preferred; they never wrap in practice, so a decrease
  is a reset. A 32-bit counter that decreases has wrapped once (``+ 2**32``).
- A reboot (``sysUpTime`` went back, or is shorter than the time since the previous sample)
  resets every counter; so does a change of ``ifCounterDiscontinuityTime``, of the uplink's
  ``ifIndex`` or of the counter width.
- ``sysUpTime`` itself wraps after 497 days (2**32 centiseconds); a decrease consistent with
  the elapsed time is that wrap, not a reboot.
- A rate above 1.05 times the interface speed (``ifHighSpeed``), or above 400 Gbit/s when the
  speed is unknown, means a reset went unnoticed and is discarded.

References
----------
RFC 2863 §3.1.6 (counter discontinuities, ``ifCounterDiscontinuityTime``) and §4 (64-bit
counters), RFC 2578 §7.1.6 (Counter32 wraps at 2**32).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from villenum.hotspots.snmp import Sample

_WRAP32 = 2**32
_MAX_BPS_UNKNOWN_SPEED = 400e9
_SPEED_MARGIN = 1.05


@dataclass
class Rates:
    """Rates between two samples, in bits per second and ratios (``None`` when unknown)."""

    uplink_in_bps: float | None = None
    uplink_out_bps: float | None = None
    uplink_in_pps: float | None = None
    uplink_out_pps: float | None = None
    error_ratio: float | None = None
    discard_ratio: float | None = None
    interval_s: float | None = None
    note: str = "ok"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``villenum monitor poll --json``."""
        return asdict(self)


def counter_delta(previous: int | None, current: int | None, bits: int) -> int | None:
    """Increase of a counter between two readings, or ``None`` if it was reset.

    Parameters
    ----------
    previous, current
        Two readings of the same counter.
    bits
        32 or 64: the counter's width (a decreasing Counter32 has wrapped once).

    Returns
    -------
    int or None
    """
    if previous is None or current is None:
        return None
    if current >= previous:
        return current - previous
    if bits == 32:
        return current + _WRAP32 - previous
    return None


# Scheduling jitter a loaded poller may add between two samples, whatever the interval.
_CLOCK_SLACK_S = 1.0


def elapsed_s(previous: Sample, current: Sample) -> tuple[float | None, str]:
    """Seconds between two samples of one agent and ``"ok"``, or ``None`` and why not.

    The agent's own clock (``sysUpTime``) is used when it agrees with the wall clock within
    10 % (or 1 s, for short intervals on a busy poller), which removes the jitter of network and
    scheduling delays; a larger disagreement means the agent's clock is not to be trusted.
    """
    wall = current.time_s - previous.time_s
    if wall <= 0:
        return None, "clock went back"
    if previous.uptime_cs is None or current.uptime_cs is None:
        return wall, "ok"
    up_delta = current.uptime_cs - previous.uptime_cs
    if up_delta < 0:
        wrapped = up_delta + _WRAP32
        near_wrap = previous.uptime_cs + wall * 100 >= _WRAP32 * 0.999
        if not (near_wrap and abs(wrapped / 100 - wall) < 0.1 * wall + 2):
            return None, "agent restarted"
        up_delta = wrapped
    elif current.uptime_cs / 100 + 2 < wall:
        return None, "agent restarted"  # up for less time than since the previous sample
    agent = up_delta / 100
    trusted = agent > 0 and abs(agent - wall) <= max(0.1 * wall, _CLOCK_SLACK_S)
    return (agent if trusted else wall), "ok"


def compute_rates(previous: Sample | None, current: Sample) -> Rates:
    """Uplink throughput, packet and error rates between two samples of one hotspot.

    Parameters
    ----------
    previous
        The hotspot's previous successful sample (persisted across monitor restarts), or
        ``None``.
    current
        The new sample.

    Returns
    -------
    Rates
        ``note`` is ``"ok"`` or the reason rates are ``None``: ``first sample``, ``no data``,
        ``agent restarted``, ``counter discontinuity``, ``uplink changed``, ``implausible``.
    """
    if previous is None:
        return Rates(note="first sample")
    if not (previous.ok and current.ok) or previous.uplink is None or current.uplink is None:
        return Rates(note="no data")
    seconds, why = elapsed_s(previous, current)
    if seconds is None:
        return Rates(note=why)
    a, b = previous.uplink, current.uplink
    if a.index != b.index or a.name != b.name or a.counter_bits != b.counter_bits:
        return Rates(interval_s=seconds, note="uplink changed")
    if a.discontinuity_cs != b.discontinuity_cs:
        return Rates(interval_s=seconds, note="counter discontinuity")
    bits = b.counter_bits
    d_in = counter_delta(a.in_octets, b.in_octets, bits)
    d_out = counter_delta(a.out_octets, b.out_octets, bits)
    if (a.in_octets is not None and d_in is None) or (a.out_octets is not None and d_out is None):
        return Rates(interval_s=seconds, note="counter discontinuity")
    rates = Rates(interval_s=seconds)
    limit = (
        b.speed_mbps * 1e6 * _SPEED_MARGIN if b.speed_mbps else _MAX_BPS_UNKNOWN_SPEED
    )  # ifHighSpeed 0 means unknown
    for name, delta in (("uplink_in_bps", d_in), ("uplink_out_bps", d_out)):
        if delta is None:
            continue
        bps = delta * 8 / seconds
        if bps > limit:
            return Rates(interval_s=seconds, note="implausible")
        setattr(rates, name, bps)
    packets = [
        counter_delta(a.in_packets, b.in_packets, 32),
        counter_delta(a.out_packets, b.out_packets, 32),
    ]
    errors = [
        counter_delta(a.in_errors, b.in_errors, 32),
        counter_delta(a.out_errors, b.out_errors, 32),
    ]
    discards = [
        counter_delta(a.in_discards, b.in_discards, 32),
        counter_delta(a.out_discards, b.out_discards, 32),
    ]
    rates.uplink_in_pps = None if packets[0] is None else packets[0] / seconds
    rates.uplink_out_pps = None if packets[1] is None else packets[1] / seconds
    sent = sum(p for p in packets if p is not None)
    for name, counts in (("error_ratio", errors), ("discard_ratio", discards)):
        known = [c for c in counts if c is not None]
        if known and sent + sum(known) > 0:
            setattr(rates, name, sum(known) / (sent + sum(known)))
        elif known:
            setattr(rates, name, 0.0)
    return rates
