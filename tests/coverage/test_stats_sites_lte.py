"""Zone statistics, GeoJSON sites, ANFR LTE sectors and their antenna pattern."""

import json

import numpy as np
import pytest

from villenum.coverage import propagation as prop
from villenum.coverage.lte import LteSector, read_anfr_sites
from villenum.coverage.radio import Transmitter
from villenum.coverage.raster import compute_coverage
from villenum.coverage.sites import read_wifi_sites
from villenum.coverage.stats import zone_stats
from villenum.errors import CoverageError, RegulationError, ValidityWarning

from .conftest import X0, Y0


def test_zone_stats_on_the_toy_city(toy_city, tmp_path):
    ap = Transmitter(X0 + 202.5, Y0 + 302.5, band="5", site_id="west")
    result = compute_coverage(toy_city, [ap], 5.0, 250.0, progress=False)
    table = zone_stats(toy_city, result, (-67, -75), tmp_path / "z.csv")
    assert list(table["zone_id"]) == ["W", "E", "ALL"]
    west, east, total = (table.iloc[i] for i in range(3))
    assert west["area_km2"] == pytest.approx(0.18)
    # hand count of the covered cells in each zone
    covered = result.covered(-67)
    cols = covered.shape[1]
    xs = result.left + (np.arange(cols) + 0.5) * 5.0
    in_west = xs < X0 + 300
    expected_w = covered[:, in_west].sum() / (covered.shape[0] * in_west.sum())
    assert west["area_share_-67dBm"] == pytest.approx(expected_w)
    assert 0 < west["area_share_-67dBm"] < west["area_share_-75dBm"] <= 1
    # the visitor point in the street is covered; the west resident behind the row is not at −67
    assert west["visitors_share_-67dBm"] == 1.0
    assert west["residents_share_-67dBm"] == 0.0
    assert np.isnan(east["visitors_share_-67dBm"])  # no visitors there
    assert total["residents"] == 60.0
    assert (tmp_path / "z.csv").read_text().startswith("zone_id,name,area_km2")


def _geojson(tmp_path, features, **extra):
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features, **extra}))
    return path


def _pt(lon, lat, **props):
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": props,
    }


def test_read_wifi_sites(tmp_path):
    path = _geojson(
        tmp_path,
        [_pt(-1.5586, 43.4832, id="casino", height_m=8), _pt(-1.5500, 43.4800, band="2.4")],
    )
    sites = read_wifi_sites(path)
    assert [s.site_id for s in sites] == ["casino", "site-2"]
    assert sites[0].height_m == 8 and sites[1].height_m == 6.0
    assert sites[0].effective_eirp_dbm == 30.0 and sites[1].effective_eirp_dbm == 20.0
    assert 320_000 < sites[0].x < 340_000 and 6_260_000 < sites[0].y < 6_290_000  # Lambert-93


@pytest.mark.parametrize(
    ("features", "extra", "message"),
    [
        ([], {}, "feature list is empty"),
        ([_pt(331000.0, 6275000.0)], {}, "not WGS84 longitude/latitude"),
        (
            [_pt(-1.55, 43.48)],
            {"crs": {"type": "name", "properties": {"name": "EPSG:2154"}}},
            "declares CRS EPSG:2154",
        ),
        ([_pt(-1.55, 43.48, height_m="tall")], {}, "height_m must be a number"),
        ([_pt(-1.55, 43.48, id="a"), _pt(-1.56, 43.48, id="a")], {}, "duplicate id"),
        ([_pt(-1.55, 43.48, band="6")], {}, "band must be"),
    ],
)
def test_bad_site_files(tmp_path, features, extra, message):
    with pytest.raises(CoverageError, match=message):
        read_wifi_sites(_geojson(tmp_path, features, **extra))


def test_site_above_the_legal_limit_is_refused(tmp_path):
    path = _geojson(tmp_path, [_pt(-1.55, 43.48, id="loud", band="2.4", eirp_dbm=27)])
    with pytest.raises(RegulationError, match=r"loud.*exceeds the French limit of 20 dBm"):
        read_wifi_sites(path)


ANFR_HEADER = (
    "STA_NM_ANFR;ADM_LB_NOM;EMR_LB_SYSTEME;AER_NB_AZIMUT;AER_NB_ALT_BAS;"
    "COR_NB_DG_LAT;COR_NB_MN_LAT;COR_NB_SC_LAT;COR_CD_NS_LAT;"
    "COR_NB_DG_LON;COR_NB_MN_LON;COR_NB_SC_LON;COR_CD_EW_LON"
)


def write_anfr(tmp_path, rows):
    """A small ANFR-layout file. ILLUSTRATIVE: invented test sites, not real Biarritz antennas."""
    path = tmp_path / "anfr_illustrative.csv"
    path.write_text("\n".join([ANFR_HEADER, *rows]) + "\n", encoding="latin-1")
    return path


def test_read_anfr_sites(tmp_path):
    path = write_anfr(
        tmp_path,
        [
            "0640000001;OPÉRATEUR TEST;LTE 800;0;28;43;28;55;N;1;33;30;W",
            "0640000001;OPÉRATEUR TEST;LTE 1800;120;28;43;28;55;N;1;33;30;W",
            "0640000001;OPÉRATEUR TEST;GSM 900;240;28;43;28;55;N;1;33;30;W",
        ],
    )
    sectors = read_anfr_sites(path)
    assert [s.system for s in sectors] == ["LTE 800", "LTE 1800"]  # GSM skipped
    assert sectors[1].azimuth_deg == 120.0 and sectors[0].height_m == 28.0
    assert sectors[0].operator == "OPÉRATEUR TEST"
    assert 329_000 < sectors[0].x < 334_000 and 6_271_000 < sectors[0].y < 6_277_000


def test_bad_anfr_files(tmp_path):
    with pytest.raises(CoverageError, match="lacks the ANFR column"):
        bad = tmp_path / "bad.csv"
        bad.write_text("a;b\n1;2\n")
        read_anfr_sites(bad)
    with pytest.raises(CoverageError, match=r"no LTE rows .*GSM 900"):
        read_anfr_sites(write_anfr(tmp_path, ["1;X;GSM 900;0;28;43;28;55;N;1;33;30;W"]))
    with pytest.raises(CoverageError, match="row 2: AER_NB_ALT_BAS must be a number"):
        read_anfr_sites(write_anfr(tmp_path, ["1;X;LTE 800;0;haut;43;28;55;N;1;33;30;W"]))
    with pytest.raises(CoverageError, match="COR_CD_EW_LON must be E or W"):
        read_anfr_sites(write_anfr(tmp_path, ["1;X;LTE 800;0;28;43;28;55;N;1;33;30;"]))


def test_three_sector_pattern_tr36814():
    s = LteSector(0.0, 0.0, 30.0, azimuth_deg=120.0, tilt_deg=6.0)
    az = np.array([120.0, 155.0, 190.0, 300.0, 120.0])
    el = np.array([6.0, 6.0, 6.0, 6.0, 16.0])
    gain = s.relative_gain_db(az, el)
    # boresight 0; 35° off = −12·0.25 = −3 dB; 70° off = −12 dB; back lobe capped at −25 dB;
    # 10° below the tilt = −12 dB
    assert gain == pytest.approx([0.0, -3.0, -12.0, -25.0, -12.0])


def test_lte_rsrp_and_uplink(toy_city):
    sector = LteSector(X0 + 302.5, Y0 + 302.5, 30.0, azimuth_deg=90.0, system="LTE 1800")
    result = compute_coverage(toy_city, [sector], 5.0, 290.0, progress=False)
    assert result.model == "uma" and result.quantity == "RSRP"
    # along the street east (boresight), LoS: RSRP = EIRP per RE + pattern − UMa
    d = 200.0
    el = np.degrees(np.arctan2(28.5, d))
    expected = (
        61.0
        - 10 * np.log10(12 * 5 * 20)
        + sector.relative_gain_db(np.array([90.0]), np.array([el]))[0]
        - prop.uma(d, 1.8425, 30.0, 1.5, los=True)
    )
    assert result.sample([X0 + 502.5], [Y0 + 302.5])[0] == pytest.approx(expected, abs=0.01)
    # behind the sector (west) the back lobe: A = −min(A_H + A_V, 25) caps the total at 25 dB
    east = result.sample([X0 + 402.5], [Y0 + 302.5])[0]
    west = result.sample([X0 + 202.5], [Y0 + 302.5])[0]
    el = np.array([np.degrees(np.arctan2(28.5, 100.0))])
    front = sector.relative_gain_db(np.array([90.0]), el)[0]
    back = sector.relative_gain_db(np.array([270.0]), el)[0]
    assert back == -25.0
    assert east - west == pytest.approx(front - back, abs=0.01)
    assert east - west > 10.0
    with pytest.warns(Warning, match="Okumura-Hata|COST-231"):
        compute_coverage(toy_city, [sector], 5.0, 290.0, model="hata", progress=False)


def test_hata_by_band_falls_back_to_uma_above_2ghz(toy_city):
    s2600 = LteSector(X0 + 302.5, Y0 + 302.5, 30.0, azimuth_deg=90.0, system="LTE 2600")
    hata = compute_coverage(toy_city, [s2600], 5.0, 290.0, model="hata", progress=False)
    uma = compute_coverage(toy_city, [s2600], 5.0, 290.0, model="uma", progress=False)
    assert np.allclose(hata.rx_dbm, uma.rx_dbm, equal_nan=True)
    assert any("no Hata variant" in n for n in hata.notes)
    # at 800 MHz the Okumura-Hata value is used (extrapolated below 1 km, with a warning)
    s800 = LteSector(X0 + 302.5, Y0 + 302.5, 30.0, azimuth_deg=90.0, system="LTE 800")
    with pytest.warns(Warning, match="Okumura-Hata"):
        r = compute_coverage(toy_city, [s800], 5.0, 290.0, model="hata", progress=False)
    d, el = 200.0, np.degrees(np.arctan2(28.5, 200.0))
    with pytest.warns(ValidityWarning):
        hata_loss = prop.okumura_hata(d / 1000, 806.0, 30.0, 1.5, strict=False)
    expected = (
        61.0
        - 10 * np.log10(12 * 5 * 10)
        + s800.relative_gain_db(np.array([90.0]), np.array([el]))[0]
        - hata_loss
    )
    assert r.sample([X0 + 502.5], [Y0 + 302.5])[0] == pytest.approx(expected, abs=0.01)
