"""4G gap analysis on Biarritz with one ILLUSTRATIVE macro site (no ANFR extract is offline)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from villenum.cli import main
from villenum.coverage.lte import LteSector
from villenum.coverage.raster import compute_coverage
from villenum.errors import PlanningError
from villenum.planning.gaps import lte_gaps, small_cell, write_gaps

pytestmark = pytest.mark.slow

# ILLUSTRATIVE: a three-sector LTE 800 site near the Phare, not a real ANFR station.
SITE_XY = (331500.0, 6276300.0)


@pytest.fixture(scope="module")
def lte(biarritz):
    sectors = [
        LteSector(
            x=SITE_XY[0],
            y=SITE_XY[1],
            height_m=25.0,
            azimuth_deg=a,
            system="LTE 800",
            site_id="illustrative",
            operator="illustrative",
        )
        for a in (0.0, 120.0, 240.0)
    ]
    return compute_coverage(
        biarritz, sectors, resolution_m=10.0, max_range_m=2500.0, progress=False
    )


@pytest.fixture(scope="module")
def gaps(biarritz, lte):
    return lte_gaps(biarritz, lte, threshold_dbm=-95.0, top=8, progress=False)


def test_gaps_grow_with_distance_from_the_site(biarritz, gaps) -> None:
    zones = gaps.zones.set_index("zone_id")
    centroids = biarritz.zones.set_index("zone_id").geometry.centroid
    distance = np.hypot(centroids.x - SITE_XY[0], centroids.y - SITE_XY[1])
    near, far = distance.idxmin(), distance.idxmax()
    assert zones.loc[near, "below_pct"] < zones.loc[far, "below_pct"]
    assert zones.loc[far, "below_pct"] == 100.0
    whole = zones.loc["ALL"]
    assert whole["below"] == pytest.approx(gaps.summary["below"], abs=1)
    assert (gaps.streets["below_share"] >= 0.5).all()
    assert gaps.streets["below_m"].is_monotonic_decreasing


def test_small_cells_ranked_by_newly_served_people(gaps) -> None:
    cells = gaps.small_cells
    assert cells["rank"].tolist() == list(range(1, len(cells) + 1))
    assert cells["marginal_people"].is_monotonic_decreasing  # greedy order
    assert cells["marginal_people"].iloc[0] == cells["new_people"].iloc[0]
    assert (cells["marginal_people"] <= cells["new_people"] + 1e-6).all()
    assert np.allclose(cells["cumulative_people"], cells["marginal_people"].cumsum(), atol=0.2)
    assert cells["cumulative_people"].iloc[-1] <= gaps.summary["below"]


def test_small_cell_is_omnidirectional() -> None:
    cell = small_cell(0.0, 0.0, "x")
    assert np.all(cell.relative_gain_db(np.array([0.0, 90.0, 200.0]), np.zeros(3)) == 0.0)
    assert cell.system == "LTE 2600"


def test_wifi_result_is_refused(biarritz) -> None:
    from villenum.coverage.radio import Transmitter

    hall = biarritz.town_hall.geometry.iloc[0]
    wifi = compute_coverage(
        biarritz,
        [Transmitter(x=hall.x, y=hall.y)],
        resolution_m=20.0,
        max_range_m=150.0,
        progress=False,
    )
    with pytest.raises(PlanningError, match="RSRP"):
        lte_gaps(biarritz, wifi)


def test_write_gaps(gaps, tmp_path) -> None:
    files = write_gaps(gaps, tmp_path)
    summary = json.loads(files["summary"].read_text(encoding="utf-8"))
    assert summary["uncovered_pct"] == gaps.summary["uncovered_pct"]
    assert files["gpkg"].is_file() and files["cells"].read_text(encoding="utf-8").startswith(
        "rank,"
    )


def test_cli_plan_gaps(biarritz, tmp_path, capsys) -> None:
    # An ILLUSTRATIVE ANFR-format extract with the same site (DMS position near the Phare).
    csv_path = tmp_path / "anfr.csv"
    rows = [
        "STA_NM_ANFR;EMR_LB_SYSTEME;AER_NB_AZIMUT;AER_NB_ALT_BAS;COR_NB_DG_LAT;"
        "COR_NB_MN_LAT;COR_NB_SC_LAT;COR_CD_NS_LAT;COR_NB_DG_LON;COR_NB_MN_LON;"
        "COR_NB_SC_LON;COR_CD_EW_LON;ADM_LB_NOM"
    ]
    rows += [
        f"0640000001;LTE 800;{a};25;43;29;24.3;N;1;33;22.3;W;ILLUSTRATIVE" for a in (0, 120, 240)
    ]
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    status = main(
        [
            "plan",
            "gaps",
            "--sites",
            str(csv_path),
            "--out",
            str(tmp_path / "g"),
            "--threshold",
            "-95",
            "--top",
            "3",
            "--resolution",
            "20",
            "--no-progress",
        ]
    )
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "below -95 dBm RSRP" in captured.out
    assert (tmp_path / "g" / "small_cells.csv").is_file()
