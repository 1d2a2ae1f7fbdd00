"""``villenum maps``: the Biarritz city map end to end, and one-line errors for bad input."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from villenum.cli import main
from villenum.maps.city import city_map
from villenum.maps.offline import render_map


@pytest.fixture(scope="module")
def city_html(biarritz: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from villenum.maps.city import write_city_map

    return write_city_map(biarritz, tmp_path_factory.mktemp("city") / "biarritz.html")


def test_city_map_stays_a_few_megabytes(city_html: Path) -> None:
    size_mb = city_html.stat().st_size / 1e6
    assert 1 < size_mb < 6, f"{size_mb:.1f} MB"
    assets = sum(p.stat().st_size for p in city_html.with_name("biarritz_files").rglob("*"))
    assert assets < 1.5e6


@pytest.mark.chromium
@pytest.mark.slow
def test_city_map_in_chromium(city_html: Path, biarritz: Any, page: Any, offsite: Any) -> None:
    page.goto(city_html.as_uri())
    page.wait_for_load_state("networkidle")
    assert page.console_errors == []
    assert offsite(page.requested_urls) == []
    control = page.inner_text(".leaflet-control-layers")
    for name in ("Neighbourhoods (quartiers)", "Buildings", "Streets", "Town hall (mairie)"):
        assert name in control
    attribution = page.inner_text(".leaflet-control-attribution")
    assert "OpenStreetMap contributors" in attribution and "ARCEP" in attribution
    assert "Data caveats" in page.inner_text(".leaflet-bottom.leaflet-left")
    # every building and zone of the model is a feature on the map
    counts = page.evaluate(
        """() => Object.entries(window)
             .filter(([k, v]) => k.startsWith('geo_json_layer_') && v.getLayers)
             .map(([k, v]) => v.getLayers().length)"""
    )
    assert len(biarritz.buildings) in counts
    assert len(biarritz.zones) in counts
    assert page.title() == "Biarritz — city model (villenum)"
    # accessibility (axe-core): nothing serious; the moderate ones are folium's full-page
    # viewport meta and Leaflet's panes outside landmarks
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [v["id"] for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == []


def test_city_map_for_a_flask_app(biarritz: Any) -> None:
    html = render_map(city_map(biarritz, asset_url_prefix="/static/maps"))
    assert '<script src="/static/maps/leaflet/leaflet.js">' in html


def test_cli_city_writes_the_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], biarritz: Any
) -> None:
    out = tmp_path / "maps" / "city.html"
    assert main(["maps", "city", "biarritz", "--out", str(out)]) == 0
    assert out.is_file() and (tmp_path / "maps" / "city_files" / "leaflet" / "leaflet.js").is_file()
    assert f"wrote {out}" in capsys.readouterr().out


def test_cli_unknown_city_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["maps", "city", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere" in err and "Traceback" not in err
    assert not (tmp_path / "x.html").exists()


def test_cli_unwritable_output_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], biarritz: Any
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    assert main(["maps", "city", "--out", str(blocker / "city.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("villenum: error: cannot write map") and err.count("\n") == 1
    assert blocker.read_text() == "keep me"


def test_cli_requires_out(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["maps", "city"])
    assert exc.value.code == 2
    assert "--out" in capsys.readouterr().err


@pytest.mark.skipif(
    importlib.util.find_spec("villenum.maps.health") is None,
    reason="villenum.maps.health (the monitor's health map) is not there yet",
)
def test_cli_health_missing_database_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["maps", "health", "--db", str(tmp_path / "none.db"), "--out", str(tmp_path / "h.html")]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "none.db" in err
