"""4G gap analysis: where LTE is too weak, and which small-cell sites would help most.

From an LTE coverage result (RSRP per cell), :func:`lte_gaps` lists the zones and street
segments below a threshold and ranks candidate small-cell sites (lamp posts, public roofs)
by the demand they would newly serve, in greedy order: the first site serves the most
uncovered people, the second the most of those still uncovered, and so on.

Small cells are modelled as omnidirectional outdoor picocells of 3GPP TR 36.872 (30 dBm,
5 dBi antenna) on a dedicated LTE 2600 carrier, so they do not interfere with the macro
layer; these are assumptions and are stated in the outputs.

References
----------
.. [1] 3GPP TR 36.872 V12.1.0, "Small cell enhancements for E-UTRA and E-UTRAN — Physical
   layer aspects", Table 6.1-1 (small-cell transmit power 30 dBm, antenna gain 5 dBi).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from villenum.errors import PlanningError
from villenum.planning import report
from villenum.planning.candidates import candidate_sites, demand_weights
from villenum.planning.placement import maximal_coverage

SMALL_CELL_EIRP_DBM = 35.0  # 30 dBm + 5 dBi, TR 36.872 Table 6.1-1
SMALL_CELL_SYSTEM = "LTE 2600"
SMALL_CELL_HEIGHT_M = 6.0


@dataclass
class LteGaps:
    """The gaps of an LTE coverage and the small cells that would fill them.

    Attributes
    ----------
    zones
        Per zone: ``zone_id``, ``name``, ``demand``, ``below`` (people below the threshold),
        ``below_pct``.
    streets
        Street segments mostly below the threshold (EPSG:2154 lines): ``name``, ``kind``,
        ``length_m``, ``below_share``, ``median_rsrp_dbm``; longest gaps first.
    small_cells
        Ranked candidate sites (points): ``rank``, ``candidate_id``, ``source``, ``name``,
        ``zone_id``, ``new_people`` (alone), ``marginal_people`` (after the better-ranked
        ones), ``cumulative_people``.
    below
        Per demand point of ``city.demand``: below the threshold.
    summary
        Key figures.
    """

    zones: pd.DataFrame
    streets: gpd.GeoDataFrame
    small_cells: gpd.GeoDataFrame
    below: npt.NDArray[np.bool_]
    summary: dict[str, Any] = field(default_factory=dict)


def small_cell(x: float, y: float, site_id: str, height_m: float = SMALL_CELL_HEIGHT_M) -> Any:
    """An omnidirectional outdoor LTE small cell (TR 36.872 picocell) at a position."""
    from villenum.coverage.lte import LteSector

    class SmallCell(LteSector):
        def relative_gain_db(
            self, azimuth_deg: npt.NDArray[np.float64], elevation_deg: npt.NDArray[np.float64]
        ) -> npt.NDArray[np.float64]:
            return np.zeros(np.shape(azimuth_deg))

    return SmallCell(
        x=x,
        y=y,
        height_m=height_m,
        azimuth_deg=0.0,
        system=SMALL_CELL_SYSTEM,
        site_id=site_id,
        operator="small cells",
        eirp_dbm=SMALL_CELL_EIRP_DBM,
        antenna_gain_dbi=5.0,
        tilt_deg=0.0,
    )


def lte_gaps(
    city: Any,
    coverage: Any,
    *,
    threshold_dbm: float = -105.0,
    season: str = "peak",
    candidates: gpd.GeoDataFrame | None = None,
    small_cell_range_m: float = 300.0,
    resolution_m: float | None = None,
    top: int = 20,
    progress: bool = True,
) -> LteGaps:
    """Find the LTE gaps of a city and rank small-cell sites that fill them.

    Parameters
    ----------
    city
        A :class:`villenum.data.City`.
    coverage
        An LTE :class:`villenum.coverage.raster.CoverageResult` (RSRP in ``rx_dbm``).
    threshold_dbm
        RSRP below which a place counts as a gap (−105 dBm: fair; −115: edge of service).
    season
        Demand scenario for the people counts (``"peak"`` or ``"off"``).
    candidates
        Candidate small-cell sites (default: street lamp posts every 100 m and public roofs).
    small_cell_range_m
        Range evaluated per small cell (m).
    resolution_m
        Grid cell of the small-cell coverage (default: the LTE result's).
    top
        How many sites to rank.
    progress
        Progress bars on stderr.

    Returns
    -------
    LteGaps

    Raises
    ------
    PlanningError
        For a coverage result without RSRP, or a non-positive ``top``.
    """
    from villenum.coverage.raster import compute_coverage

    if getattr(coverage, "quantity", "") != "RSRP":
        raise PlanningError("lte_gaps needs an LTE coverage result (RSRP), not a Wi-Fi one")
    if top < 1:
        raise PlanningError(f"top must be a positive number of sites, got {top!r}")
    weights = demand_weights(city, season)  # type: ignore[arg-type]
    pts = city.demand.geometry
    rsrp = coverage.sample(pts.x.to_numpy(), pts.y.to_numpy())
    margin = coverage.sample(pts.x.to_numpy(), pts.y.to_numpy(), "uplink_margin_db")
    with np.errstate(invalid="ignore"):
        below = ~((rsrp >= threshold_dbm) & (margin >= 0))
    zones = report.zone_table(city, weights, below, np.array([], dtype=object))
    zones = zones.rename(columns={"covered": "below", "covered_pct": "below_pct"})
    zones = zones.drop(columns="aps")
    streets = _street_gaps(city, coverage, threshold_dbm)
    cands = candidates
    if cands is None:
        cands = candidate_sites(
            city, street_step_m=100.0, min_spacing_m=50.0, include=("roof", "street")
        )
    # Only sites within reach of a gap can help: skip evaluating the others.
    gap_xy = np.c_[pts.x.to_numpy(), pts.y.to_numpy()][below & (weights > 0)]
    cells = gpd.GeoDataFrame(columns=["rank"], geometry=[], crs=city.crs)
    if len(gap_xy):
        from scipy.spatial import cKDTree

        cxy = np.c_[cands.geometry.x.to_numpy(), cands.geometry.y.to_numpy()]
        near, _ = cKDTree(gap_xy).query(cxy, distance_upper_bound=small_cell_range_m)
        useful = cands[np.isfinite(near)].reset_index(drop=True)
        if len(useful):
            sources = [
                small_cell(
                    float(r.geometry.x),
                    float(r.geometry.y),
                    str(r.candidate_id),
                    max(float(r.height_m), 3.0),
                )
                for r in useful.itertuples()
            ]
            result = compute_coverage(
                city,
                sources,
                resolution_m=resolution_m or coverage.resolution_m,
                max_range_m=small_cell_range_m,
                progress=progress,
            )
            matrix = result.sparse_coverage(threshold_dbm, demand=city.demand).tocsr()
            cells = _rank(useful, matrix, weights * below, top)
    total = float(weights.sum())
    below_people = float(weights[below].sum())
    summary = {
        "threshold_dbm": threshold_dbm,
        "demand": round(total, 1),
        "below": round(below_people, 1),
        "uncovered_pct": round(100 * below_people / total, 2) if total else 0.0,
        "street_segments_below": len(streets),
        "street_km_below": round(float(streets["length_m"].sum()) / 1000, 2),
        "best_new_people": float(cells["marginal_people"].iloc[0]) if len(cells) else 0.0,
        "small_cell_assumption": (
            f"omnidirectional {SMALL_CELL_SYSTEM} small cells, {SMALL_CELL_EIRP_DBM:.0f} dBm "
            "EIRP (3GPP TR 36.872), dedicated carrier"
        ),
    }
    return LteGaps(zones, streets, cells, below, summary)


def _street_gaps(city: Any, coverage: Any, threshold_dbm: float) -> gpd.GeoDataFrame:
    """Street segments with at least half their length below the threshold."""
    seen: set[tuple[str, str]] = set()
    geoms, names, kinds = [], [], []
    for u, v, data in city.streets.edges(data=True):
        key = (str(min(str(u), str(v))), str(max(str(u), str(v))))
        if key in seen or "geometry" not in data:
            continue
        seen.add(key)
        geoms.append(data["geometry"])
        name = data.get("name", "")
        names.append(name[0] if isinstance(name, list) else str(name or ""))
        kinds.append(str(data.get("kind", data.get("highway", ""))))
    geoms_arr = np.array(geoms, dtype=object)
    lengths = shapely.length(geoms_arr)
    counts = np.maximum(np.ceil(lengths / 10.0), 1).astype(int)
    owner = np.repeat(np.arange(len(geoms_arr)), counts)
    frac = (np.concatenate([np.arange(c) for c in counts]) + 0.5) / counts[owner]
    samples = shapely.line_interpolate_point(geoms_arr[owner], frac, normalized=True)
    rsrp = coverage.sample(shapely.get_x(samples), shapely.get_y(samples))
    with np.errstate(invalid="ignore"):
        low = ~(rsrp >= threshold_dbm)
    share = np.bincount(owner, weights=low, minlength=len(geoms_arr)) / counts
    filled = np.where(np.isnan(rsrp), -200.0, rsrp)
    frame = pd.DataFrame({"owner": owner, "rsrp": filled})
    median = frame.groupby("owner")["rsrp"].median().reindex(range(len(geoms_arr))).to_numpy()
    pick = share >= 0.5
    out = gpd.GeoDataFrame(
        {
            "name": np.array(names, dtype=object)[pick],
            "kind": np.array(kinds, dtype=object)[pick],
            "length_m": np.round(lengths[pick], 1),
            "below_share": np.round(share[pick], 3),
            "median_rsrp_dbm": np.round(median[pick], 1),
        },
        geometry=geoms_arr[pick],
        crs=city.crs,
    )
    out["below_m"] = out["length_m"] * out["below_share"]
    return out.sort_values("below_m", ascending=False).reset_index(drop=True)


def _rank(
    sites: gpd.GeoDataFrame, matrix: Any, gap_weights: npt.NDArray[np.float64], top: int
) -> gpd.GeoDataFrame:
    """Greedy order of the sites by the gap demand they newly serve."""
    alone = np.asarray(matrix.T @ gap_weights).ravel()
    n = min(top, int(np.count_nonzero(alone > 0)))
    if n == 0:
        return gpd.GeoDataFrame(columns=["rank"], geometry=[], crs=sites.crs)
    res = maximal_coverage(matrix, gap_weights, n, method="greedy")
    csc = matrix.tocsc()
    covered = np.zeros(matrix.shape[0], dtype=bool)
    order: list[int] = []
    marginal: list[float] = []
    remaining = set(res.sites.tolist())
    while remaining:
        gains = {}
        for j in remaining:
            rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
            gains[j] = float(gap_weights[rows[~covered[rows]]].sum())
        j = max(gains, key=lambda k: (gains[k], -k))
        order.append(j)
        marginal.append(gains[j])
        covered[csc.indices[csc.indptr[j] : csc.indptr[j + 1]]] = True
        remaining.discard(j)
    ranked = sites.iloc[order].copy()
    ranked.insert(0, "rank", np.arange(1, len(order) + 1))
    ranked["new_people"] = np.round(alone[order], 1)
    ranked["marginal_people"] = np.round(marginal, 1)
    ranked["cumulative_people"] = np.round(np.cumsum(marginal), 1)
    columns = [
        "rank",
        "candidate_id",
        "source",
        "name",
        "zone_id",
        "height_m",
        "new_people",
        "marginal_people",
        "cumulative_people",
        "geometry",
    ]
    return gpd.GeoDataFrame(ranked[columns].reset_index(drop=True), geometry="geometry")


def write_gaps(gaps: LteGaps, out_dir: str | Path) -> dict[str, Path]:
    """Write ``gaps.gpkg`` (streets, small cells), ``gaps_zones.csv``, ``small_cells.csv``
    and ``gaps_summary.json`` into ``out_dir``."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PlanningError(f"cannot create the output folder {out}: {exc.strerror}") from None
    layers = {"streets_below": gaps.streets}
    if len(gaps.small_cells):
        layers["small_cells"] = gaps.small_cells
    files = {"gpkg": report.write_geopackage(out / "gaps.gpkg", layers)}
    files["zones"] = out / "gaps_zones.csv"
    gaps.zones.to_csv(files["zones"], index=False)
    files["cells"] = out / "small_cells.csv"
    gaps.small_cells.drop(columns="geometry", errors="ignore").to_csv(files["cells"], index=False)
    files["summary"] = report.write_json(out / "gaps_summary.json", gaps.summary)
    return files
