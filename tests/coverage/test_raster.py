"""Coverage rasters on a hand-built street canyon, GeoTIFF output, the planner's matrix."""

import numpy as np
import pytest
import rasterio
import scipy.sparse as sp

from villenum.coverage import propagation as prop
from villenum.coverage.lte import LteSector
from villenum.coverage.radio import Client, Transmitter, data_rate_mbps
from villenum.coverage.raster import NODATA, CoverageResult, compute_coverage
from villenum.coverage.sites import transmitters_at
from villenum.errors import CoverageError, RegulationError

from .conftest import X0, Y0

# AP at a cell centre (5 m grid aligned on X0, Y0) in the middle of the street
AP_X, AP_Y = X0 + 302.5, Y0 + 302.5


def _ap(x=AP_X, y=AP_Y, **kw):
    return Transmitter(x, y, band="5", site_id=kw.pop("site_id", "ap"), **kw)


@pytest.fixture(scope="module")
def one_ap(toy_city):
    return compute_coverage(toy_city, [_ap()], resolution_m=5.0, max_range_m=250.0, progress=False)


def test_street_cell_matches_umi_los(one_ap):
    # 150 m east along the street, same row of cells: exact LoS UMi value
    x, y = AP_X + 150.0, AP_Y
    expected = 30.0 - prop.umi_street_canyon(150.0, 5.5, 6.0, 1.5, los=True)
    assert one_ap.sample([x], [y])[0] == pytest.approx(expected, abs=1e-3)
    assert one_ap.sample([x], [y], "los")[0] == 1


def test_street_beats_behind_buildings(one_ap):
    street = one_ap.sample([AP_X + 100.0], [AP_Y])[0]
    behind = one_ap.sample([AP_X + 100.0], [Y0 + 352.5])[0]  # outdoors, beyond the north row
    assert one_ap.sample([AP_X + 100.0], [Y0 + 352.5], "los")[0] == 0
    expected_behind = 30.0 - prop.umi_street_canyon(np.hypot(100.0, 50.0), 5.5, 6.0, 1.5, los=False)
    assert behind == pytest.approx(expected_behind, abs=1e-3)
    assert street - behind > 15.0


def test_indoor_cells_get_the_o2i_loss(one_ap):
    # a cell just inside the north row's facade, straight across the street (d = 10 m horizontal)
    x, y = AP_X, Y0 + 312.5
    assert one_ap.sample([x], [y], "indoor")[0]
    indoor = one_ap.sample([x], [y])[0]
    o2i = prop.o2i_penetration_loss(5.5)
    outdoor_equiv = 30.0 - prop.umi_street_canyon(10.0, 5.5, 6.0, 1.5, los=True)
    # facade visible; through-wall loss plus 0.5 dB/m for the ~2.5 m inside
    assert outdoor_equiv - indoor == pytest.approx(o2i + 0.5 * 2.5, abs=1.5)
    # every cell within range has a value, including those inside buildings
    rows, cols = one_ap.shape
    yy, xx = np.mgrid[0:rows, 0:cols]
    cx = one_ap.left + (xx + 0.5) * 5.0
    cy = one_ap.top - (yy + 0.5) * 5.0
    in_range = np.hypot(cx - AP_X, cy - AP_Y) <= 250.0
    assert np.isfinite(one_ap.rx_dbm[in_range]).all()
    assert np.isnan(one_ap.rx_dbm[~in_range]).all()


def test_uplink_margin_and_covered(one_ap):
    ap = _ap()
    offset = ap.uplink_offset_db(Client())
    finite = np.isfinite(one_ap.rx_dbm)
    assert one_ap.uplink_margin_db[finite] == pytest.approx(
        one_ap.rx_dbm[finite] + offset, abs=1e-3
    )
    # downlink alone would reach −80 dBm in places where the phone's uplink no longer closes
    dl_only = (one_ap.rx_dbm >= -80) & ~(one_ap.uplink_margin_db >= 0)
    assert dl_only.any()
    assert not one_ap.covered(-80)[dl_only].any()


def test_cochannel_interference_sets_sinr(toy_city):
    a = _ap(AP_X - 100.0, site_id="a")
    b_same = _ap(AP_X + 100.0, site_id="b")
    b_other = _ap(AP_X + 100.0, site_id="b", channel=116)
    same = compute_coverage(toy_city, [a, b_same], 5.0, 250.0, progress=False)
    other = compute_coverage(toy_city, [a, b_other], 5.0, 250.0, progress=False)
    # at the midpoint both servers are equally strong: SINR ≈ 0 dB on one channel
    assert same.sample([AP_X], [AP_Y], "sinr_db")[0] == pytest.approx(0.0, abs=0.5)
    assert other.sample([AP_X], [AP_Y], "sinr_db")[0] > 20.0
    assert same.sample([AP_X - 100.0], [AP_Y], "server")[0] == 0
    assert same.sample([AP_X + 100.0], [AP_Y], "server")[0] == 1
    assert other.sample([AP_X + 100.0], [AP_Y], "mcs")[0] > same.sample([AP_X], [AP_Y], "mcs")[0]
    # the rate follows the MCS (802.11ax, 20 MHz, one stream)
    mcs = int(other.sample([AP_X + 100.0], [AP_Y], "mcs")[0])
    assert other.sample([AP_X + 100.0], [AP_Y], "rate_mbps")[0] == pytest.approx(
        data_rate_mbps(mcs, 20), rel=1e-6
    )


def test_sparse_coverage_matrix(toy_city):
    a = _ap(AP_X - 100.0, site_id="a")
    b = _ap(AP_X + 120.0, site_id="b", channel=116)
    result = compute_coverage(toy_city, [a, b], 5.0, 250.0, progress=False)
    m = result.sparse_coverage(-75.0)
    assert sp.issparse(m) and m.format == "csr"
    assert m.shape == (len(toy_city.demand), 2)
    dense = m.toarray()
    pts = toy_city.demand.geometry
    for i, (x, y) in enumerate(zip(pts.x, pts.y, strict=True)):
        for j in (0, 1):
            only = compute_coverage(toy_city, [[a, b][j]], 5.0, 250.0, progress=False)
            assert dense[i, j] == bool(
                only.covered(-75.0).reshape(-1)[only.cell_index([x], [y])[0]]
            )
    # at −67 dBm the street point is served, the point behind the row (NLoS, 58 m) is not
    strict = result.sparse_coverage(-67.0).toarray()
    assert strict[0, 0] and not strict[2].any()
    assert strict.sum() < dense.sum()
    # any GeoDataFrame of points will do; points outside the grid have empty rows
    far = toy_city.demand.iloc[:1].copy()
    far.geometry = far.geometry.translate(5000, 0)
    assert result.sparse_coverage(-75.0, far).nnz == 0


def test_geotiff_is_complete_and_reads_back(one_ap, tmp_path):
    path = one_ap.to_geotiff(tmp_path / "out" / "wifi.tif")
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 2154
        assert src.nodata == NODATA
        assert src.count == 8
        assert all(src.descriptions)
        assert "dBm" in src.descriptions[0]
        assert src.profile["tiled"] and src.compression.name.lower() == "deflate"
        assert src.tags(1)["units"] == "dBm"
        band1 = src.read(1)
    valid = band1 != NODATA
    assert np.array_equal(valid, np.isfinite(one_ap.rx_dbm))
    assert band1[valid] == pytest.approx(one_ap.rx_dbm[valid])
    back = CoverageResult.from_geotiff(path)
    assert np.array_equal(back.covered(-70), one_ap.covered(-70))
    with pytest.raises(CoverageError, match="per-site powers"):
        back.sparse_coverage(-70)


def test_bad_requests_are_one_clear_error(toy_city, tmp_path):
    with pytest.raises(CoverageError, match="empty"):
        compute_coverage(toy_city, [], progress=False)
    with pytest.raises(CoverageError, match="WGS84 degrees"):
        compute_coverage(toy_city, [Transmitter(-1.55, 43.48)], progress=False)
    with pytest.raises(CoverageError, match="outside Toyville"):
        compute_coverage(toy_city, [_ap(X0 + 5000.0, Y0)], progress=False)
    # a pier or a roof just past the boundary is accepted ...
    compute_coverage(toy_city, [_ap(X0 + 650.0, Y0 + 300.0)], 5.0, 100.0, progress=False)
    # ... but not when its range reaches no cell of the city: never an all-NaN raster
    with pytest.raises(CoverageError, match="no cell of Toyville is within 40 m"):
        compute_coverage(toy_city, [_ap(X0 + 650.0, Y0 + 300.0)], 5.0, 40.0, progress=False)
    sector = LteSector(X0 + 100.0, Y0 + 100.0, 30.0, azimuth_deg=0.0)
    with pytest.raises(CoverageError, match="cannot be mixed"):
        compute_coverage(toy_city, [_ap(), sector], progress=False)
    with pytest.raises(CoverageError, match="Hata models are for macro cells"):
        compute_coverage(toy_city, [_ap()], model="hata", progress=False)
    with pytest.raises(CoverageError, match="model must be one of"):
        compute_coverage(toy_city, [_ap()], model="magic", progress=False)
    with pytest.raises(RegulationError):
        _ap(eirp_dbm=36.0)
    with pytest.raises(CoverageError, match="not found"):
        CoverageResult.from_geotiff(tmp_path / "missing.tif")


def test_candidates_from_points_feed_the_planner(toy_city):
    points = toy_city.demand.iloc[:2].copy()
    sites = transmitters_at(points, band="5", height_m=5.0)
    assert [s.site_id for s in sites] == ["cand-0", "cand-1"]
    assert sites[0].x == points.geometry.x.iloc[0] and sites[1].height_m == 5.0
    result = compute_coverage(toy_city, sites, 5.0, 200.0, progress=False)
    m = result.sparse_coverage(-70.0)
    assert m.shape == (len(toy_city.demand), 2)
    assert m[0, 0] and m[1, 1]  # each candidate covers the demand point it stands on
    with pytest.raises(CoverageError, match="projected CRS"):
        transmitters_at(points.to_crs("EPSG:4326"))


def test_p1411_site_general_model_on_the_grid(toy_city):
    result = compute_coverage(toy_city, [_ap()], 5.0, 250.0, model="p1411", progress=False)
    assert result.model == "p1411"
    d3 = np.hypot(150.0, 6.0 - 1.5)
    los = 30.0 - prop.p1411_site_general(d3, 5.5, True, "urban_high_rise")
    assert result.sample([AP_X + 150.0], [AP_Y])[0] == pytest.approx(los, abs=1e-3)
    behind = result.sample([AP_X + 100.0], [Y0 + 352.5])[0]
    d3 = np.hypot(np.hypot(100.0, 50.0), 4.5)
    assert behind == pytest.approx(
        30.0 - prop.p1411_site_general(d3, 5.5, False, "urban_high_rise")
    )
