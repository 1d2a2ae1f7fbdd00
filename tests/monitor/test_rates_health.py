"""Rates across wraps and reboots, the health state machine, flap detection and the score."""

from __future__ import annotations

import pytest

from villenum.hotspots._snmp_rates import compute_rates, counter_delta
from villenum.hotspots.health import (
    HealthConfig,
    HealthState,
    health_score,
    percent_state_change,
    update,
)
from villenum.hotspots.inventory import Hotspot
from villenum.hotspots.snmp import Interface, Sample

AP = Hotspot("ap-1", "AP 1", 43.48, -1.55, address="10.0.0.1", community="public", max_clients=50)


def sample(t: float, uptime_s: float, octets: int, bits: int = 64, ok: bool = True, **kw) -> Sample:
    uplink = Interface(
        2, "eth0", kw.pop("up", True), octets, octets // 2, bits, 1000 + int(t), 1000 + int(t),
        kw.pop("errors", 0), 0, 0, 0, 1000, kw.pop("disc", 0),
    )  # fmt: skip
    return Sample("ap-1", t, ok, "ok" if ok else "timeout", uptime_cs=int(uptime_s * 100),
                  uplink=uplink if ok else None, **kw)  # fmt: skip


def test_counter_delta_wraps_32_bit_but_not_64_bit() -> None:
    assert counter_delta(100, 250, 32) == 150
    assert counter_delta(2**32 - 1000, 500, 32) == 1500
    assert counter_delta(2**40, 5, 64) is None  # a 64-bit counter going back was reset
    assert counter_delta(None, 5, 64) is None


def test_rates_in_bits_per_second_with_a_32_bit_wrap() -> None:
    a = sample(1000.0, 500.0, 2**32 - 3_750_000, bits=32)
    b = sample(1060.0, 560.0, 3_750_000, bits=32)
    rates = compute_rates(a, b)
    assert rates.note == "ok"
    assert rates.uplink_in_bps == pytest.approx(7_500_000 * 8 / 60)
    assert rates.uplink_in_bps > 0


@pytest.mark.parametrize(
    ("b", "note"),
    [
        (sample(1060.0, 30.0, 10), "agent restarted"),  # sysUpTime went back
        (sample(1060.0, 560.0, 10**9, disc=12), "counter discontinuity"),
        (sample(1060.0, 560.0, 10**9, bits=32), "uplink changed"),
        (sample(1060.0, 560.0, 10**6), "counter discontinuity"),  # 64-bit decrease
        (sample(1060.0, 560.0, 10**9 + 10**12), "implausible"),  # 133 Gbit/s on a 1 Gbit/s port
    ],
)
def test_no_negative_or_absurd_rate(b: Sample, note: str) -> None:
    a = sample(1000.0, 500.0, 10**9)
    rates = compute_rates(a, b)
    assert rates.note == note
    assert rates.uplink_in_bps is None and rates.uplink_out_bps is None


def test_reboot_between_polls_is_detected_even_if_uptime_grew() -> None:
    a = sample(1000.0, 10.0, 10**9)  # up 10 s at the first poll...
    b = sample(1060.0, 30.0, 10**6)  # ...and 30 s a minute later: it rebooted in between
    assert compute_rates(a, b).note == "agent restarted"


def test_sysuptime_wrap_after_497_days_is_not_a_reboot() -> None:
    a = sample(1000.0, (2**32 - 3000) / 100, 10**9)
    b = sample(1060.0, 3000 / 100, 10**9 + 7_500_000)
    rates = compute_rates(a, b)
    assert rates.note == "ok" and rates.uplink_in_bps == pytest.approx(1e6)


def test_first_sample_has_no_rates() -> None:
    assert compute_rates(None, sample(0.0, 10.0, 5)).note == "first sample"


def run(results: list[bool], config: HealthConfig) -> tuple[HealthState, list]:
    state, transitions = HealthState(), []
    for i, good in enumerate(results):
        state, changes = update(state, sample(60.0 * i, 100 + 60 * i, 10**6 * i, ok=good), None,
                                AP, config)  # fmt: skip
        transitions += changes
    return state, transitions


def test_down_after_n_failures_up_after_m_successes() -> None:
    cfg = HealthConfig(down_after=3, up_after=2)
    state, tr = run([True, False, False], cfg)
    assert state.state == "up" and "2/3 failed polls" in state.reason  # one lost poll is no alarm
    state, tr = run([True, False, False, False], cfg)
    assert state.state == "down" and state.reason.startswith("timeout")
    assert [(t.old, t.new) for t in tr if t.kind == "state"] == [("unknown", "up"), ("up", "down")]
    state, tr = run([True, False, False, False, True], cfg)
    assert state.state == "down" and "recovering (1/2" in state.reason
    state, tr = run([True, False, False, False, True, True], cfg)
    assert state.state == "up"


def test_degraded_when_uplink_down_or_overloaded() -> None:
    state, _ = update(HealthState(), sample(0.0, 10.0, 5, up=False), None, AP, HealthConfig())
    assert state.state == "degraded" and "uplink-down: eth0 is down" in state.reason
    busy = sample(0.0, 10.0, 5, clients=55.0)
    state, _ = update(HealthState(), busy, None, AP, HealthConfig())
    assert state.state == "degraded" and "load: 55 clients for 50" in state.reason


def test_nagios_percent_state_change() -> None:
    assert percent_state_change(["ok"] * 21) == 0.0
    assert percent_state_change(["ok", "fail"] * 10 + ["ok"]) == pytest.approx(100.0)
    # one change, the newest: weight 1.2 over 20 possible changes
    assert percent_state_change(["ok"] * 20 + ["fail"]) == pytest.approx(100 * 1.2 / 20)
    # one change, the oldest: weight 0.8
    assert percent_state_change(["fail"] + ["ok"] * 20) == pytest.approx(100 * 0.8 / 20)


def test_flapping_starts_above_high_and_stops_below_low_threshold() -> None:
    cfg = HealthConfig(down_after=1, up_after=1)
    flappy = [True, False] * 6
    state, tr = run(flappy, cfg)
    kinds = [t.kind for t in tr]
    assert state.flapping and "flapping-start" in kinds
    state, tr = run(flappy + [True] * 21, cfg)
    assert not state.flapping and [t.kind for t in tr].count("flapping-stop") == 1


def test_score_formula() -> None:
    cfg = HealthConfig()
    good = sample(0.0, 10.0, 5, clients=10.0)
    assert health_score(good, None, AP, 0.0, 0.0, cfg.interval_s) == 100
    # uplink down: loses the 40 % uplink weight
    assert health_score(sample(0.0, 10.0, 5, up=False), None, AP, 0.0, 0.0, 60) == 60
    # 60 clients on 50 (120 %): load term 0
    assert health_score(sample(0.0, 10.0, 5, clients=60.0), None, AP, 0.0, 0.0, 60) == 80
    assert health_score(sample(0.0, 10.0, 5, ok=False), None, AP, 0.0, 0.0, 60) == 0
