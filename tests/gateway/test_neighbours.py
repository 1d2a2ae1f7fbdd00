"""MAC lookups in a neighbour table laid out as the kernel's /proc/net/arp."""

from __future__ import annotations

from pathlib import Path

from villenum.hotspots.gateway import NeighbourTable

HEADER = "IP address       HW type     Flags       HW address            Mask     Device\n"


def _table(tmp_path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    path = tmp_path / "arp"
    lines = [
        f"{ip:<16} 0x1         {flags:<11} {mac}     *        {dev}\n"
        for ip, flags, mac, dev in rows
    ]
    path.write_text(HEADER + "".join(lines))
    return path


def test_lookup_finds_the_complete_entry_on_the_lan(tmp_path: Path) -> None:
    rows = [(f"10.77.0.{i}", "0x2", f"02:00:00:00:00:{i:02x}", "br0") for i in range(2, 250)]
    rows += [
        ("10.77.0.1", "0x2", "aa:bb:cc:dd:ee:01", "wan0"),  # same address, other interface
        ("10.77.0.1", "0x2", "AA:BB:CC:DD:EE:02", "br0"),
        ("10.77.0.250", "0x0", "00:00:00:00:00:00", "br0"),  # incomplete: no answer yet
    ]
    table = NeighbourTable("br0", path=str(_table(tmp_path, rows)))
    assert table.lookup("10.77.0.1") == "aa:bb:cc:dd:ee:02"
    assert table.lookup("10.77.0.17") == "02:00:00:00:00:11"
    assert table.lookup("10.77.0.250") is None
    # a prefix of another address must not match it
    assert table.lookup("10.77.0.2") == "02:00:00:00:00:02"
    assert NeighbourTable(None, path=str(table.path)).lookup("10.77.0.1") == "aa:bb:cc:dd:ee:01"


def test_lookup_of_unknown_or_invalid_addresses(tmp_path: Path) -> None:
    table = NeighbourTable(
        "br0", path=str(_table(tmp_path, [("10.0.0.5", "0x2", "02:00:00:00:00:05", "br0")]))
    )
    assert table.lookup("10.0.0.6") is None
    assert table.lookup("10.0.0.50") is None
    assert table.lookup("not-an-ip") is None
    assert NeighbourTable("br0", path=str(tmp_path / "missing")).lookup("10.0.0.5") is None
