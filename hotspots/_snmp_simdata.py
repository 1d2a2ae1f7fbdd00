"""Simulated access points for snmpsim: data files of an OpenWrt-like AP (SIMULATION ONLY).

The monitor's tests, its benchmark and demos poll snmpsim agents serving these files; every
value is illustrative (labelled so in ``sysDescr``), never a real device's. Counters grow with
snmpsim's ``numeric`` variation (``rate`` per second since the simulator started) and
``sysUpTime`` grows at 100 ticks per second, so restarting the simulator is a reboot.

References
----------
snmpsim documentation, "Simulation data" (``.snmprec`` format: ``OID|TAG|VALUE``, tags 2
Integer, 4 OctetString, 6 OID, 65 Counter32, 66 Gauge32, 67 TimeTicks, 70 Counter64) and the
``numeric`` variation module.
"""

from __future__ import annotations

from villenum.hotspots.profiles import extend_index

IF = "1.3.6.1.2.1.2.2.1"
IFX = "1.3.6.1.2.1.31.1.1.1"


def ap_snmprec(
    *,
    in_rate: float = 1_250_000.0,
    out_rate: float = 250_000.0,
    hc: bool = True,
    initial_in: int = 0,
    uplink_up: bool = True,
    clients: int = 12,
    wrap32: bool = False,
    extra: list[str] | None = None,
) -> str:
    """A snmprec file of an OpenWrt-like access point (lo, eth0 uplink, wlan0).

    Counters grow with snmpsim's ``numeric`` variation: ``rate`` is octets per second since the
    simulator started; sysUpTime grows at 100 ticks per second, so a restart is a reboot.
    """
    bits = 70 if hc else 65
    wrap = ",wrap=1" if wrap32 else ""
    lines = [
        "1.3.6.1.2.1.1.1.0|4|OpenWrt 23.05 (villenum simulated access point)",
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10",
        "1.3.6.1.2.1.1.3.0|67:numeric|rate=100,initial=0",
        "1.3.6.1.2.1.1.5.0|4|test-ap",
    ]
    ifaces = [(1, "lo", 24, 1), (2, "eth0", 6, 1 if uplink_up else 2), (3, "wlan0", 71, 1)]
    cols: dict[int, list[str]] = {}
    for index, name, iftype, oper in ifaces:
        rate_in = in_rate if name == "eth0" else 1000.0
        rate_out = out_rate if name == "eth0" else 1000.0
        cols.setdefault(2, []).append(f"{IF}.2.{index}|4|{name}")
        cols.setdefault(3, []).append(f"{IF}.3.{index}|2|{iftype}")
        cols.setdefault(8, []).append(f"{IF}.8.{index}|2|{oper}")
        init = initial_in if name == "eth0" else 0
        cols.setdefault(10, []).append(
            f"{IF}.10.{index}|65:numeric|rate={rate_in},initial={init % 2**32}{wrap}"
        )
        cols.setdefault(11, []).append(f"{IF}.11.{index}|65:numeric|rate=1000")
        cols.setdefault(13, []).append(f"{IF}.13.{index}|65|0")
        cols.setdefault(14, []).append(f"{IF}.14.{index}|65|0")
        cols.setdefault(16, []).append(f"{IF}.16.{index}|65:numeric|rate={rate_out}{wrap}")
        cols.setdefault(17, []).append(f"{IF}.17.{index}|65:numeric|rate=500")
        cols.setdefault(19, []).append(f"{IF}.19.{index}|65|0")
        cols.setdefault(20, []).append(f"{IF}.20.{index}|65|0")
        if hc:
            cols.setdefault(101, []).append(f"{IFX}.1.{index}|4|{name}")
            cols.setdefault(106, []).append(
                f"{IFX}.6.{index}|{bits}:numeric|rate={rate_in},initial={init}"
            )
            cols.setdefault(110, []).append(f"{IFX}.10.{index}|{bits}:numeric|rate={rate_out}")
            cols.setdefault(115, []).append(f"{IFX}.15.{index}|66|1000")
            cols.setdefault(119, []).append(f"{IFX}.19.{index}|67|0")
    for key in sorted(cols):
        lines += cols[key]
    lines += [
        "1.3.6.1.2.1.25.3.3.1.2.196608|2|17",
        "1.3.6.1.4.1.2021.4.5.0|2|262144",
        "1.3.6.1.4.1.2021.4.6.0|2|131072",
        "1.3.6.1.4.1.2021.4.14.0|2|8192",
        "1.3.6.1.4.1.2021.4.15.0|2|24576",
    ]
    ext = "1.3.6.1.4.1.8072.1.3.2.3.1.1"
    for name, value in (
        ("wifi-chanutil", "35"),
        ("wifi-clients", str(clients)),
        ("wifi-noise", "-92"),
    ):
        lines.append(f"{ext}.{extend_index(name)}|4|{value}")
    lines += extra or []
    return (
        "\n".join(
            sorted(lines, key=lambda rec: tuple(int(p) for p in rec.split("|")[0].split(".")))
        )
        + "\n"
    )
