"""The poller and the monitor against real agents: snmpsim (generated data) and Debian snmpd."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from villenum.hotspots._snmp_rates import compute_rates
from villenum.hotspots.alerts import AlertConfig
from villenum.hotspots.health import HealthConfig
from villenum.hotspots.inventory import validate_hotspots
from villenum.hotspots.monitor import Monitor, MonitorConfig
from villenum.hotspots.snmp import PollerOptions, SnmpPoller, poll_hotspots
from villenum.hotspots.store import Store

from .conftest import ap_records, is_root

V3 = {"user": "vn-admin", "auth_key": "auth-key-123", "priv_key": "priv-key-456"}
# generous: success must not hinge on the load of a shared 2-core CI machine
FAST = PollerOptions(timeout_s=2.0, retries=1, deadline_s=10.0)
# failure-heavy tests: each failed poll costs timeout x (retries + 1)
QUICK = PollerOptions(timeout_s=1.0, retries=1, deadline_s=6.0)


def v2c(port: int, ident: str = "ap-1", **kw: Any) -> dict[str, Any]:
    return {"id": ident, "name": ident.upper(), "lat": 43.4832, "lon": -1.5586,
            "address": "127.0.0.1", "port": port, "community": "public",
            "vendor_profile": "openwrt", **kw}  # fmt: skip


def test_v2c_and_v3_authpriv_against_snmpsim(snmpsim_factory: Any) -> None:
    sim = snmpsim_factory({"public": ap_records(clients=23)}, v3=V3)
    v3 = {**v2c(sim.port, "ap-v3"), "snmp_version": "3", "user": V3["user"],
          "auth_protocol": "SHA", "auth_key": V3["auth_key"], "priv_protocol": "AES",
          "priv_key": V3["priv_key"], "context": "public", "community": None}  # fmt: skip
    wrong = {**v3, "id": "ap-v3-wrong", "priv_key": "not-the-key", "auth_key": "wrong-auth-key"}
    hotspots = validate_hotspots(
        [v2c(sim.port), {k: v for k, v in v3.items() if v is not None},
         {k: v for k, v in wrong.items() if v is not None}]
    )  # fmt: skip
    ok2c, ok3, bad = poll_hotspots(hotspots, FAST)
    for sample in (ok2c, ok3):
        assert sample.ok, sample.detail
        assert sample.clients == 23 and sample.channel_util_pct == 35 and sample.noise_dbm == -92
        assert sample.cpu_pct == 17  # hrProcessorLoad
        assert sample.mem_pct == pytest.approx(37.5)  # (256 - 128 - 8 - 24) MiB of 256 MiB
        assert sample.uplink is not None and sample.uplink.name == "eth0"  # lo skipped
        assert sample.uplink.counter_bits == 64 and sample.uplink.speed_mbps == 1000
        assert sample.sys_descr and sample.sys_descr.startswith("OpenWrt")
        # one GETBULK carried the scalars and ~17 columns x 3 interfaces
        assert sample.requests == 1 and sample.varbinds > 40
    assert not bad.ok and bad.reason == "auth-failed"


def test_rates_across_a_32_bit_counter_wrap(snmpsim_factory: Any) -> None:
    period_s = 10.0  # the 32-bit counter wraps every 10 s (3.4 Gbit/s)
    rate = 2**32 / period_s
    sim = snmpsim_factory({"public": ap_records(hc=False, wrap32=True, in_rate=rate)})
    hotspot = validate_hotspots([v2c(sim.port)])[0]

    async def across_one_wrap() -> tuple[Any, Any]:
        poller = SnmpPoller(FAST)
        first = await poller.poll(hotspot)
        assert first.ok and first.uplink is not None and first.uplink.in_octets is not None
        if first.uplink.in_octets < 2**31:
            # sample mid-period, so that 1 s past the next wrap is lower than the first value
            await asyncio.sleep((2**31 - first.uplink.in_octets) / rate)
            first = await poller.poll(hotspot)
            assert first.ok and first.uplink is not None and first.uplink.in_octets is not None
        # sleep past the next wrap but well before the one after: exactly one wrap between
        await asyncio.sleep((2**32 - first.uplink.in_octets) / rate + 1.0)
        return first, await poller.poll(hotspot)

    first, second = asyncio.run(across_one_wrap())
    assert second.uplink is not None and second.uplink.counter_bits == 32
    assert second.uplink.in_octets < first.uplink.in_octets  # the counter did wrap
    rates = compute_rates(first, second)
    assert rates.note == "ok"
    assert rates.uplink_in_bps == pytest.approx(rate * 8, rel=0.05)


def monitor(
    store_path: Path, hotspots: list[Any], sink: list[dict[str, Any]], **health: Any
) -> Monitor:
    config = MonitorConfig(
        interval_s=1.0,
        poller=QUICK,
        health=HealthConfig(interval_s=1.0, **health),
        alerts=AlertConfig(delay_s=0.0),
    )
    return Monitor(hotspots, Store(store_path), config, alert_sink=sink.append)


def cycle(mon: Monitor) -> dict[str, Any]:
    return asyncio.run(mon.cycle())[0]


def test_reboot_raises_no_alarm_and_restart_keeps_rates(
    snmpsim_factory: Any, tmp_path: Path
) -> None:
    sim = snmpsim_factory({"public": ap_records()})
    hotspots = validate_hotspots([v2c(sim.port)])
    alerts: list[dict[str, Any]] = []
    db = tmp_path / "m.db"
    first = cycle(monitor(db, hotspots, alerts))
    assert first["state"] == "up" and first["rates"]["note"] == "first sample"
    time.sleep(1.0)
    # a monitor restart: the new process finds the last sample in the store
    second = cycle(monitor(db, hotspots, alerts))
    assert second["rates"]["note"] == "ok"
    assert second["rates"]["uplink_in_bps"] == pytest.approx(10e6, rel=0.1)
    # the access point reboots: counters and sysUpTime start again from zero
    sim.stop()
    sim.start()
    mon = monitor(db, hotspots, alerts)
    third = cycle(mon)
    assert third["state"] == "up" and third["rates"]["note"] == "agent restarted"
    assert third["rates"]["uplink_in_bps"] is None  # not a negative nor a huge rate
    time.sleep(1.0)
    assert cycle(mon)["rates"]["uplink_in_bps"] == pytest.approx(10e6, rel=0.1)
    assert alerts == []  # no false alarm
    assert Store(db).events() and all(e["new"] == "up" for e in Store(db).events())


def test_agent_down_after_n_and_up_after_m(snmpsim_factory: Any, tmp_path: Path) -> None:
    sim = snmpsim_factory({"public": ap_records()})
    hotspots = validate_hotspots([v2c(sim.port)])
    alerts: list[dict[str, Any]] = []
    mon = monitor(tmp_path / "m.db", hotspots, alerts, down_after=3, up_after=2)
    assert cycle(mon)["state"] == "up"
    sim.stop()
    states = [cycle(mon) for _ in range(3)]
    assert [s["state"] for s in states] == ["up", "up", "down"]
    expected = "snmp-down" if is_root else "timeout"  # root can ping: the host is alive
    assert states[-1]["reason"].startswith(expected)
    assert states[-1]["score"] <= 25
    sim.start()
    back = [cycle(mon) for _ in range(2)]
    assert [s["state"] for s in back] == ["down", "up"]
    assert [a["event"] for a in alerts] == ["problem", "recovery"]
    assert alerts[0]["state"] == "down"


def test_flapping_agent_is_marked_and_alerts_are_suppressed(
    snmpsim_factory: Any, tmp_path: Path
) -> None:
    sim = snmpsim_factory({"public": ap_records()})
    hotspots = validate_hotspots([v2c(sim.port)])
    alerts: list[dict[str, Any]] = []
    mon = monitor(tmp_path / "m.db", hotspots, alerts, down_after=1, up_after=1)
    statuses = []
    for i in range(14):
        (sim.pause if i % 2 else sim.resume)()
        statuses.append(cycle(mon))
    sim.resume()
    assert statuses[-1]["flapping"]
    events = [a["event"] for a in alerts]
    assert "flapping-start" in events
    after = events[events.index("flapping-start") + 1 :]
    assert after == []  # nothing but the one flapping notice once detected
    assert events.count("problem") <= 3


def test_debian_snmpd_v2c_and_v3(snmpd: dict[str, Any]) -> None:
    base = v2c(snmpd["port"])
    v3 = {**base, "id": "ap-v3", "snmp_version": "3", "user": snmpd["user"],
          "auth_protocol": "SHA", "auth_key": snmpd["auth_key"], "priv_protocol": "AES",
          "priv_key": snmpd["priv_key"]}  # fmt: skip
    del v3["community"]
    samples = poll_hotspots(validate_hotspots([base, v3]), FAST)
    for sample in samples:
        assert sample.ok, sample.detail
        assert sample.clients == 7 and sample.channel_util_pct == 41 and sample.noise_dbm == -95
        assert sample.uplink is not None and sample.uplink.oper_up
        assert sample.uplink.counter_bits == 64  # net-snmp serves ifXTable
        assert sample.mem_pct is not None and 0 < sample.mem_pct < 100
        assert sample.sys_descr and "Linux" in sample.sys_descr


def test_walk_then_get_the_same_instances_across_worker_processes(snmpsim_factory: Any) -> None:
    sim = snmpsim_factory({"public": ap_records(clients=5), "busy": ap_records(clients=40)})
    hotspots = validate_hotspots(
        [v2c(sim.port, f"ap-{i}", community="busy" if i % 2 else "public") for i in range(6)]
    )
    options = PollerOptions(timeout_s=2.0, retries=1, deadline_s=10.0, processes=2)
    poller = SnmpPoller(options)
    try:
        walked = asyncio.run(poller.poll_many(hotspots))
        fetched = asyncio.run(poller.poll_many(hotspots))
    finally:
        poller.close()
    assert [s.hotspot_id for s in fetched] == [h.id for h in hotspots]  # input order kept
    for first, second in zip(walked, fetched, strict=True):
        assert first.ok and second.ok
        assert second.clients == first.clients == (40 if first.hotspot_id[-1] in "135" else 5)
        # the workers kept their device cache: one GET of the instances the walk found
        assert second.requests == 1 and second.varbinds < first.varbinds / 2
        assert second.uplink is not None and second.uplink.name == "eth0"
        assert second.interfaces_up == first.interfaces_up == 2
