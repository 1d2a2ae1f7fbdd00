"""The coverage engine and CLI on the embedded Biarritz model."""

import json

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from villenum.cli import main
from villenum.coverage.los import reference_line_of_sight, trace_paths
from villenum.coverage.radio import Transmitter
from villenum.coverage.raster import compute_coverage

# Four illustrative access points on the seafront and in the centre (lon, lat)
SITES = [
    ("grande-plage", -1.5586, 43.4832, {}),
    ("casino", -1.5612, 43.4847, {}),
    ("halles", -1.5531, 43.4807, {"band": "2.4"}),
    ("port-vieux", -1.5668, 43.4830, {"height_m": 8}),
]


def _write_sites(path, sites=SITES):
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"id": name, **props},
        }
        for name, lon, lat, props in sites
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


@pytest.fixture(scope="module")
def street_ap(biarritz):
    """One 5 GHz AP on a street node near the centre of Biarritz, and its coverage."""
    nodes = np.array([(d["x"], d["y"]) for _, d in biarritz.streets.nodes(data=True)])
    centre = biarritz.town_hall.geometry.iloc[0]
    x, y = nodes[np.argmin(np.hypot(nodes[:, 0] - centre.x, nodes[:, 1] - centre.y))]
    ap = Transmitter(float(x), float(y), band="5", site_id="mairie")
    return ap, compute_coverage(biarritz, [ap], 5.0, 300.0, progress=False)


def test_street_cells_beat_cells_behind_buildings(street_ap):
    ap, result = street_ap
    rows, cols = result.shape
    yy, xx = np.mgrid[0:rows, 0:cols]
    d = np.hypot(result.left + (xx + 0.5) * 5 - ap.x, result.top - (yy + 0.5) * 5 - ap.y)
    ring = (d > 60) & (d < 150) & ~result.indoor
    los = ring & (result.los == 1)
    nlos = ring & (result.los == 0)
    assert los.sum() > 50 and nlos.sum() > 50
    gap = np.median(result.rx_dbm[los]) - np.median(result.rx_dbm[nlos])
    assert gap > 10.0
    # indoor cells pay the building entry loss on top
    indoor = (d > 60) & (d < 150) & result.indoor
    assert np.median(result.rx_dbm[indoor]) < np.median(result.rx_dbm[nlos])


def test_los_agrees_with_vector_reference_in_biarritz(biarritz, street_ap):
    ap, result = street_ap
    rng = np.random.default_rng(3)
    rr, cc = np.nonzero((result.server == 0) & ~result.indoor)
    pick = rng.choice(rr.size, 400, replace=False)
    x = result.left + (cc[pick] + 0.5) * 5
    y = result.top - (rr[pick] + 0.5) * 5
    near = biarritz.buildings.iloc[
        biarritz.buildings.sindex.query(shapely.Point(ap.x, ap.y).buffer(320))
    ]
    ref = reference_line_of_sight(near, ap.x, ap.y, ap.height_m, x, y)
    fan = result.los[rr[pick], cc[pick]] == 1
    assert ref.sum() >= 20 and (~ref).sum() >= 20  # both answers occur
    print("fan/reference agreement", (fan == ref).mean(), "LoS share", ref.mean())
    assert (fan == ref).mean() > 0.93
    from villenum.coverage.los import HeightGrid

    grid = HeightGrid.from_buildings(near, (ap.x - 320, ap.y - 320, ap.x + 320, ap.y + 320), 1.0)
    exact = trace_paths(grid, ap.x, ap.y, ap.height_m, x, y)
    print("exact/reference agreement", (exact.los == ref).mean())
    assert (exact.los == ref).mean() > 0.97


@pytest.fixture(scope="module")
def wifi_run(biarritz, tmp_path_factory):
    """`villenum coverage wifi --map` on four illustrative sites: (status, stdout, out dir)."""
    import contextlib
    import io

    tmp = tmp_path_factory.mktemp("wifi")
    sites = _write_sites(tmp / "sites.geojson")
    out = tmp / "out"
    args = ["coverage", "wifi", "--sites", str(sites), "--out", str(out), "--no-progress"]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = main([*args, "--map"])
    return status, stdout.getvalue(), out


def test_wifi_cli_writes_geotiff_and_zone_csv(biarritz, wifi_run, tmp_path):
    status, printed, out = wifi_run
    assert status == 0
    assert "of peak visitors" in printed and "wifi_coverage.tif" in printed
    with rasterio.open(out / "wifi_coverage.tif") as src:
        assert src.crs.to_epsg() == 2154
        assert src.descriptions[0].startswith("best-server received power")
        assert src.overviews(1)  # pyramids for quick display in QGIS
        band1 = src.read(1, masked=True)
        assert band1.count() > 10_000
        assert band1.min() > -140 and band1.max() < 0
    lines = (out / "wifi_zones.csv").read_text().splitlines()
    assert len(lines) == 1 + len(biarritz.zones) + 1
    # `coverage zones` recomputes the same shares from the GeoTIFF alone
    assert (
        main(
            ["coverage", "zones", str(out / "wifi_coverage.tif"), "--out", str(tmp_path / "z.csv")]
        )
        == 0
    )
    again = (tmp_path / "z.csv").read_text().splitlines()
    assert again == lines


@pytest.mark.parametrize(
    ("sites", "message"),
    [
        ([("far", -1.40, 43.48, {})], "outside Biarritz"),
        ([], "feature list is empty"),
        ([("loud", -1.5586, 43.4832, {"band": "2.4", "eirp_dbm": 30})], "French limit"),
    ],
)
def test_wifi_cli_bad_input_is_one_line_exit_2(biarritz, tmp_path, capsys, sites, message):
    path = _write_sites(tmp_path / "s.geojson", sites)
    status = main(["coverage", "wifi", "--sites", str(path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "o" / "wifi_coverage.tif").exists()


def test_lte_cli_on_an_illustrative_anfr_file(biarritz, tmp_path, capsys):
    # ILLUSTRATIVE sectors in ANFR's layout (no real ANFR extract for Biarritz is available)
    header = (
        "STA_NM_ANFR;ADM_LB_NOM;EMR_LB_SYSTEME;AER_NB_AZIMUT;AER_NB_ALT_BAS;"
        "COR_NB_DG_LAT;COR_NB_MN_LAT;COR_NB_SC_LAT;COR_CD_NS_LAT;"
        "COR_NB_DG_LON;COR_NB_MN_LON;COR_NB_SC_LON;COR_CD_EW_LON"
    )
    rows = [f"ILLUSTRATIVE-1;TEST;LTE 800;{az};30;43;28;50;N;1;33;20;W" for az in (0, 120, 240)]
    path = tmp_path / "anfr_illustrative.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    out = tmp_path / "lte"
    args = ["coverage", "lte", "--sites", str(path), "--out", str(out), "--no-progress"]
    assert main([*args, "--range", "1000"]) == 0
    printed = capsys.readouterr().out
    assert "3 transmitter(s), model uma, RSRP" in printed
    with rasterio.open(out / "lte_coverage.tif") as src:
        assert src.descriptions[0] == "best-server RSRP (dBm)"
        rsrp = src.read(1, masked=True)
        server = src.read(2, masked=True)
    assert set(np.unique(server.compressed()).astype(int)) == {0, 1, 2}  # three sectors
    assert rsrp.min() > -140 and rsrp.max() < -30
    # `coverage zones` picks the RSRP thresholds for an LTE raster
    assert main(["coverage", "zones", str(out / "lte_coverage.tif")]) == 0
    assert "area_share_-95dBm" in (out / "lte_coverage_zones.csv").read_text().splitlines()[0]


def test_zones_cli_rejects_a_foreign_raster(tmp_path, capsys):
    path = tmp_path / "other.tif"
    profile = {"width": 4, "height": 4, "count": 1, "dtype": "float32", "crs": "EPSG:2154"}
    transform = Affine(1.0, 0.0, 330_000.0, 0.0, -1.0, 6_270_000.0)
    with rasterio.open(path, "w", driver="GTiff", transform=transform, **profile) as dst:
        dst.write(np.zeros((1, 4, 4), dtype="float32"))
    assert main(["coverage", "zones", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not a villenum coverage GeoTIFF" in err


@pytest.mark.chromium
def test_wifi_map_renders_offline(wifi_run, page):
    _, _, out = wifi_run
    page.goto((out / "wifi_coverage.html").as_uri())
    page.wait_for_selector(".leaflet-image-layer")
    assert page.locator(".leaflet-control-layers").count() == 1
    assert "Best-server received power" in page.content()
    assert page.console_errors == []
    assert [u for u in page.requested_urls if not u.startswith(("file:", "data:"))] == []


def test_zone_stats_refuse_a_raster_of_another_city(biarritz, toy_city):
    from villenum.coverage.stats import zone_stats
    from villenum.errors import CoverageError

    from .conftest import X0, Y0

    toy = compute_coverage(toy_city, [Transmitter(X0 + 300, Y0 + 300)], 5.0, 100.0, progress=False)
    with pytest.raises(CoverageError, match="another city"):
        zone_stats(biarritz, toy)
