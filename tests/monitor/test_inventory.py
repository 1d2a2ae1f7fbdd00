"""Inventory schema: loading, writing, and one-sentence errors naming the hotspot and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from villenum.errors import InventoryError
from villenum.hotspots.inventory import load_inventory, validate_hotspots, write_inventory

SAMPLE = Path(__file__).parents[2] / "hotspots" / "inventory.sample.toml"
BASE = {"id": "ap-1", "name": "AP 1", "lat": 43.48, "lon": -1.55, "address": "10.0.0.1",
        "community": "public"}  # fmt: skip


def test_sample_inventory_loads_with_defaults_applied() -> None:
    hotspots = load_inventory(SAMPLE)
    assert len(hotspots) == 5
    by_id = {h.id: h for h in hotspots}
    assert by_id["bz-grande-plage-01"].vendor_profile == "openwrt"  # from [defaults]
    assert by_id["bz-port-vieux-01"].vendor_profile == "unifi"  # own value wins
    v3 = by_id["bz-rocher-vierge-01"]
    assert (v3.snmp_version, v3.auth_protocol, v3.priv_protocol) == ("3", "SHA", "AES")
    assert not by_id["bz-cote-basques-01"].deployed
    assert "auth_key" not in v3.public_dict() and "community" not in v3.public_dict()


def test_write_then_load_round_trips(tmp_path: Path) -> None:
    hotspots = load_inventory(SAMPLE)
    out = write_inventory(hotspots, tmp_path / "inv.toml")
    assert load_inventory(out) == hotspots
    # the planner writes plain dicts, planned hotspots without address nor credentials
    planned = [{"id": "plan-1", "name": "Planned – Milady", "lat": 43.47, "lon": -1.57}]
    again = load_inventory(write_inventory(planned, tmp_path / "plan.toml"))
    assert again[0].name == "Planned – Milady" and again[0].address is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lat": 95.0}, "hotspot 'ap-1': field 'lat' = 95.0 is outside"),
        ({"lat": "43"}, "hotspot 'ap-1': field 'lat' must be a number"),
        ({"address": "12 rue Mazagran"}, "hotspot 'ap-1': field 'address' must be an IP"),
        ({"port": 70000}, "hotspot 'ap-1': field 'port' must be an integer in [1, 65535]"),
        ({"community": None}, "hotspot 'ap-1': field 'community' is required"),
        ({"vendor_profile": "aruba"}, "field 'vendor_profile' must be one of generic"),
        ({"snmp_version": "1"}, "field 'snmp_version' must be one of 2c, 3"),
        ({"colour": "red"}, "hotspot 'ap-1': unknown field 'colour'"),
        ({"snmp_version": "3", "user": "u", "auth_protocol": "SHA", "auth_key": "short"},
         "field 'auth_key' must have at least 8 characters"),
        ({"snmp_version": "3", "user": "u", "auth_protocol": "SHA", "auth_key": "longenough",
          "priv_protocol": "AES"}, "fields 'priv_protocol' and 'priv_key' go together"),
        ({"id": "bad id!"}, "hotspot #1: field 'id' must be"),
    ],
)  # fmt: skip
def test_invalid_hotspots_name_hotspot_and_field(change: dict, message: str) -> None:
    table = {k: v for k, v in {**BASE, **change}.items() if v is not None}
    with pytest.raises(InventoryError, match=None) as err:
        validate_hotspots([table], source="inv.toml")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_duplicate_id_is_refused_and_nothing_written(tmp_path: Path) -> None:
    target = tmp_path / "inv.toml"
    target.write_text("# previous inventory\n")
    with pytest.raises(InventoryError, match="hotspot 'ap-1': field 'id' is a duplicate"):
        write_inventory([BASE, BASE], target)
    assert target.read_text() == "# previous inventory\n"  # never corrupt what was there


def test_cli_reports_a_bad_inventory_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from villenum.cli import main

    bad = tmp_path / "inv.toml"
    bad.write_text('[[hotspot]]\nid = "ap-1"\nname = "x"\nlat = 43.4\n')
    db = tmp_path / "m.db"
    assert main(["monitor", "poll", "--once", "--inventory", str(bad), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0
    assert "hotspot 'ap-1': missing required field 'lon'" in err
    assert not db.exists()  # nothing created for a bad inventory
    assert main(["monitor", "poll", "--inventory", str(tmp_path / "no.toml")]) == 2
    assert "not found" in capsys.readouterr().err
