"""A free outdoor Wi-Fi plan, end to end: candidates → coverage → placement → fibre → files.

:func:`plan_wifi` answers the council's question ("with N access points, or this budget,
where do they go, whom do they serve, what does the fibre cost?") and :func:`write_plan`
writes the answer as files: ``plan.gpkg`` (QGIS), ``bom.csv``, ``zones.csv``,
``summary.json``/``summary.md``, ``map.html`` (offline) and ``inventory.toml`` (the monitor's
format, listing the planned hotspots with management addresses left for the admin).
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from tqdm import tqdm

from villenum.errors import PlanningError
from villenum.planning import report
from villenum.planning._budget import budget_greedy
from villenum.planning.candidates import Season, candidate_sites, demand_weights
from villenum.planning.fibre import (
    Backhaul,
    FibreCosts,
    cost_graph,
    plan_backhaul,
)
from villenum.planning.placement import Method, PlacementResult, maximal_coverage

log = logging.getLogger(__name__)

SEASON_LABEL = {"peak": "August peak", "off": "off-season"}


@dataclass
class WifiPlan:
    """Everything a Wi-Fi plan decided, in memory (see :func:`write_plan` for the files).

    Attributes
    ----------
    city
        The city model.
    sites
        The planned access points (EPSG:2154 points): ``ap_id``, ``name``, ``candidate_id``,
        ``source``, ``height_m``, ``zone_id``, ``zone``, ``reach_people`` (demand it serves),
        ``unique_people`` (demand only it serves).
    candidates
        Every candidate site with ``chosen`` and ``reach_people``.
    placement
        The optimiser's result (indices into ``candidates``).
    backhaul
        The fibre tree and its costs.
    zones
        Per-zone table (:func:`villenum.planning.report.zone_table`).
    bom
        Bill of materials (:func:`villenum.planning.report.bill_of_materials`).
    covered
        Whether each demand point of ``city.demand`` is served.
    weights
        The scenario's demand weights.
    coverage
        The coverage raster of the planned APs (for the map), or ``None``.
    candidate_coverage
        The coverage of every candidate (reusable for other scenarios), or ``None``.
    summary
        Key figures as plain data (written to ``summary.json``).
    """

    city: Any
    sites: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    placement: PlacementResult
    backhaul: Backhaul
    zones: pd.DataFrame
    bom: pd.DataFrame
    covered: npt.NDArray[np.bool_]
    weights: npt.NDArray[np.float64]
    coverage: Any = None
    candidate_coverage: Any = None
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def total_eur(self) -> float:
        """Total cost of the plan (€, excl. VAT)."""
        return float(self.bom["total_eur"].iloc[-1])


def plan_wifi(
    city: Any,
    n_aps: int,
    *,
    season: Season = "peak",
    budget_eur: float | None = None,
    threshold_dbm: float = -75.0,
    resolution_m: float = 10.0,
    max_range_m: float = 250.0,
    band: str = "5",
    method: Method = "auto",
    time_limit_s: float = 60.0,
    candidates: gpd.GeoDataFrame | None = None,
    pop_xy: tuple[float, float] | None = None,
    costs: FibreCosts | None = None,
    ducts: gpd.GeoDataFrame | None = None,
    beach_backup: bool = False,
    split_ratio: int = 32,
    candidate_coverage: Any = None,
    progress: bool = True,
) -> WifiPlan:
    """Plan ``n_aps`` free outdoor Wi-Fi access points and their fibre backhaul.

    Parameters
    ----------
    city
        A :class:`villenum.data.City`.
    n_aps
        Number of access points (a maximum when ``budget_eur`` is given).
    season
        ``"peak"`` (August, visitors included) or ``"off"`` demand.
    budget_eur
        Total budget (€ excl. VAT): APs, fibre, drops, splitters and OLT ports. The plan
        and its fibre tree grow together, each site priced at the exact cost of joining the
        current tree (see :mod:`villenum.planning._budget`); the real bill never exceeds it.
        Not combinable with ``beach_backup``.
    threshold_dbm
        Downlink level that counts as served (−75 dBm: a usable 5 GHz link, MCS 3–4).
    resolution_m, max_range_m
        Coverage grid cell and per-AP range (m).
    band
        Wi-Fi band of the APs, ``"5"`` (channel 100, 30 dBm EIRP outdoors) or ``"2.4"``.
    method, time_limit_s
        Passed to :func:`villenum.planning.placement.maximal_coverage`.
    candidates
        Candidate sites (default :func:`villenum.planning.candidates.candidate_sites`);
        those with ``source == "existing"`` are deployed hotspots: always kept, counted in
        ``n_aps``, and assumed to have their backhaul already (no fibre, no AP cost).
    pop_xy
        Fibre point of presence (EPSG:2154); default the town hall.
    costs
        Unit costs (default :class:`villenum.planning.fibre.FibreCosts`).
    ducts
        Existing ducts (lines), priced as a cable pull.
    beach_backup
        Require every beach demand point to be served by two APs.
    split_ratio
        GPON splitter ratio (32 or 64).
    candidate_coverage
        A coverage result already computed for exactly these candidates (same order and
        ``site_id`` = ``candidate_id``), to compare scenarios without recomputing it.
    progress
        Progress bars on stderr.

    Returns
    -------
    WifiPlan

    Raises
    ------
    PlanningError
        An impossible request (no candidate, budget too small, backup infeasible, ...).
    """
    from villenum.coverage.radio import Transmitter
    from villenum.coverage.raster import compute_coverage

    if isinstance(n_aps, bool) or not isinstance(n_aps, int) or n_aps < 1:
        raise PlanningError(
            f"the number of access points must be a positive integer, got {n_aps!r}"
        )
    costs = costs or FibreCosts()
    steps = tqdm(total=5, desc="wifi plan", unit="step", disable=not progress, leave=False)
    steps.set_postfix_str("candidates")
    cands = candidates if candidates is not None else candidate_sites(city)
    if n_aps > len(cands):
        raise PlanningError(f"--aps {n_aps} is more than the {len(cands)} candidate sites")
    existing = np.flatnonzero(cands["source"].to_numpy() == "existing")
    if existing.size > n_aps:
        raise PlanningError(
            f"--aps {n_aps} counts every AP, but {existing.size} hotspots already exist"
        )
    if existing.size and budget_eur is not None:
        raise PlanningError("existing hotspots cannot be combined with a budget yet")
    steps.update()
    steps.set_postfix_str("coverage of every candidate")
    transmitters = _transmitters(cands, band, Transmitter)
    result = candidate_coverage
    if result is None:
        result = compute_coverage(
            city,
            transmitters,
            resolution_m=resolution_m,
            max_range_m=max_range_m,
            progress=progress,
        )
    elif [t.site_id for t in result.transmitters] != list(cands["candidate_id"].astype(str)):
        raise PlanningError(
            "candidate_coverage was computed for other sites than the candidates given"
        )
    matrix = result.sparse_coverage(threshold_dbm, demand=city.demand)
    weights = demand_weights(city, season)
    backup = city.demand["place"].to_numpy() == "beach" if beach_backup else None
    steps.update()
    steps.set_postfix_str("placement")
    pop = pop_xy or _town_hall(city)
    placement, backhaul = _place(
        city,
        cands,
        matrix,
        weights,
        n_aps,
        budget_eur,
        backup,
        method,
        time_limit_s,
        pop,
        costs,
        ducts,
        split_ratio,
        existing,
    )
    steps.update()
    steps.set_postfix_str("fibre and tables")
    chosen = placement.sites
    counts = np.asarray(matrix[:, chosen].sum(axis=1)).ravel()
    covered = counts > 0
    reach = np.asarray(matrix.T @ weights).ravel()
    only = np.asarray(matrix[:, chosen][counts == 1].T @ weights[counts == 1]).ravel()
    sites = _sites_frame(city, cands, chosen, reach[chosen], only)
    new_sites = sites[sites["source"] != "existing"]
    # plan_backhaul got the new sites in candidate order; the frame is sorted by zone.
    by_candidate = dict(zip(new_sites["candidate_id"], new_sites["ap_id"], strict=True))
    new_ids = cands["candidate_id"].to_numpy()[np.setdiff1d(chosen, existing)]
    backhaul.drops["ap"] = [by_candidate[c] for c in new_ids]
    zones = report.zone_table(city, weights, covered, sites["zone_id"].to_numpy())
    bom = report.bill_of_materials(backhaul, len(new_sites), costs)
    cands = cands.copy()
    cands["chosen"] = np.isin(np.arange(len(cands)), chosen)
    cands["reach_people"] = np.round(reach, 1)
    steps.update()
    steps.set_postfix_str("coverage of the plan")
    plan_cov = compute_coverage(
        city,
        [transmitters[i] for i in chosen],
        resolution_m=resolution_m,
        max_range_m=max_range_m,
        progress=False,
    )
    steps.update()
    steps.close()
    plan = WifiPlan(
        city, sites, cands, placement, backhaul, zones, bom, covered, weights, plan_cov, result
    )
    plan.summary = _summary(plan, season, threshold_dbm, budget_eur, n_aps, beach_backup)
    return plan


def _transmitters(cands: gpd.GeoDataFrame, band: str, cls: Any) -> list[Any]:
    xs, ys = cands.geometry.x.to_numpy(), cands.geometry.y.to_numpy()
    return [
        cls(x=float(x), y=float(y), band=band, height_m=float(h), site_id=str(cid))
        for x, y, h, cid in zip(xs, ys, cands["height_m"], cands["candidate_id"], strict=True)
    ]


def _town_hall(city: Any) -> tuple[float, float]:
    hall = getattr(city, "town_hall", None)
    if hall is not None and len(hall):
        point = hall.geometry.iloc[0]
        return float(point.x), float(point.y)
    centre = city.boundary.geometry.iloc[0].representative_point()
    log.warning("no town hall in the city model: the fibre PoP is the commune's centre")
    return float(centre.x), float(centre.y)


def _place(
    city: Any,
    cands: gpd.GeoDataFrame,
    matrix: Any,
    weights: npt.NDArray[np.float64],
    n_aps: int,
    budget: float | None,
    backup: npt.NDArray[np.bool_] | None,
    method: Method,
    time_limit_s: float,
    pop: tuple[float, float],
    costs: FibreCosts,
    ducts: gpd.GeoDataFrame | None,
    split_ratio: int,
    existing: npt.NDArray[np.intp],
) -> tuple[PlacementResult, Backhaul]:
    """Place the APs (existing ones kept, already connected) and plan the new ones' fibre."""
    xy = np.c_[cands.geometry.x.to_numpy(), cands.geometry.y.to_numpy()]
    if budget is None:
        res = maximal_coverage(
            matrix,
            weights,
            n_aps,
            method=method,
            time_limit_s=time_limit_s,
            backup=backup,
            fixed=existing,
        )
        new = np.setdiff1d(res.sites, existing)
        if new.size == 0:
            raise PlanningError("every AP asked for already exists: raise --aps to plan new ones")
        return res, plan_backhaul(
            city.streets,
            xy[new],
            pop,
            costs=costs,
            ducts=ducts,
            split_ratio=split_ratio,
            crs=city.crs,
        )
    if not (math.isfinite(budget) and budget > 0):
        raise PlanningError(f"the budget must be a positive amount in €, got {budget!r}")
    if backup is not None:
        raise PlanningError("beach backup coverage is not available together with a budget")

    def build(sites: npt.NDArray[np.intp]) -> tuple[Backhaul, float]:
        bh = plan_backhaul(
            city.streets,
            xy[sites],
            pop,
            costs=costs,
            ducts=ducts,
            split_ratio=split_ratio,
            crs=city.crs,
        )
        return bh, float(report.bill_of_materials(bh, len(sites), costs)["total_eur"].iloc[-1])

    # When the AP count binds before the money, the unbudgeted optimum is the answer.
    free = maximal_coverage(matrix, weights, n_aps, method=method, time_limit_s=time_limit_s)
    free_bh, free_total = build(free.sites)
    if free_total <= budget:
        return replace(free, cost=free_total), free_bh
    graph = cost_graph(city.streets, costs, ducts)
    out = budget_greedy(graph, matrix, weights, xy, pop, n_aps, budget, costs, split_ratio, build)
    if out is None:
        raise PlanningError(
            f"a budget of {budget:,.0f} € does not pay for one access point and its fibre"
        )
    return out


def _sites_frame(
    city: Any,
    cands: gpd.GeoDataFrame,
    chosen: npt.NDArray[np.intp],
    reach: npt.NDArray[np.float64],
    only: npt.NDArray[np.float64],
) -> gpd.GeoDataFrame:
    sites = cands.iloc[chosen].copy()
    zone_names = city.zones.set_index("zone_id")["name"]
    sites["zone"] = sites["zone_id"].map(zone_names).fillna("")
    sites["reach_people"] = np.round(reach, 1)
    sites["unique_people"] = np.round(only, 1)
    order = np.lexsort((-sites["reach_people"].to_numpy(), sites["zone_id"].astype(str).to_numpy()))
    sites = sites.iloc[order].reset_index(drop=True)
    slug = _slug(city.name)[:12] or "city"
    taken = set(sites.loc[sites["source"] == "existing", "candidate_id"])
    fresh = (f"{slug}-ap-{i:03d}" for i in range(1, 10 * len(sites) + len(taken) + 2))
    fresh_ids = (i for i in fresh if i not in taken)
    ap_ids = [
        c if s == "existing" else next(fresh_ids)
        for c, s in zip(sites["candidate_id"], sites["source"], strict=True)
    ]
    sites.insert(0, "ap_id", ap_ids)
    labels = [
        n if s == "existing" else (n or z or "site") + (f" ({z})" if n and z else "")
        for n, z, s in zip(sites["name"].fillna(""), sites["zone"], sites["source"], strict=True)
    ]
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    sites["name"] = unique
    columns = [
        "ap_id",
        "name",
        "candidate_id",
        "source",
        "kind",
        "height_m",
        "zone_id",
        "zone",
        "reach_people",
        "unique_people",
        "geometry",
    ]
    return gpd.GeoDataFrame(sites[columns], geometry="geometry", crs=city.crs)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _summary(
    plan: WifiPlan,
    season: str,
    threshold_dbm: float,
    budget: float | None,
    n_aps: int,
    beach_backup: bool,
) -> dict[str, Any]:
    p, bh = plan.placement, plan.backhaul
    demand = float(plan.weights.sum())
    covered = float(plan.weights[plan.covered].sum())
    notes = list(getattr(plan.city, "notes", []))
    notes.append(
        "Costs are planning rates (see villenum.planning.fibre.FibreCosts for their sources); "
        "replace them with local quotes before a tender."
    )
    notes.append(
        "Street candidates are lamp-post proxies every few tens of metres along the "
        "streets; check each chosen pole on site."
    )
    return {
        "city": plan.city.name,
        "season": season,
        "season_label": SEASON_LABEL[season],
        "threshold_dbm": threshold_dbm,
        "aps_requested": n_aps,
        "aps": len(plan.sites),
        "aps_existing": int((plan.sites["source"] == "existing").sum()),
        "beach_backup": beach_backup,
        "demand": round(demand, 1),
        "covered": round(covered, 1),
        "covered_pct": round(100 * covered / demand, 2) if demand else 0.0,
        "placement": {
            "method": p.method,
            "optimal": p.optimal,
            "gap": p.gap,
            "upper_bound": p.upper_bound,
            "seconds": round(p.seconds, 2),
            "candidates": len(plan.candidates),
        },
        "fibre": {
            "length_m": round(bh.length_m, 1),
            "cost_eur": round(bh.cost_eur, 2),
            "baseline_length_m": round(bh.baseline_length_m, 1),
            "baseline_cost_eur": round(bh.baseline_cost_eur, 2),
            "improvement_pct": round(100 * bh.improvement, 2),
            "drops_cost_eur": round(bh.drops_cost_eur, 2),
        },
        "optical": {
            "split_ratio": bh.optical.split_ratio,
            "longest_path_m": bh.optical.longest_path_m,
            "loss_db": bh.optical.loss_db,
            "budget_db": bh.optical.budget_db,
            "margin_db": bh.optical.margin_db,
            "ok": bh.optical.ok,
            "pon_ports": bh.optical.pon_ports,
        },
        "total_eur": round(plan.total_eur, 2),
        "budget_eur": budget,
        "notes": notes,
        "attribution": plan.city.attribution,
    }


def write_plan(plan: WifiPlan, out_dir: str | Path) -> dict[str, Path]:
    """Write the plan's files into ``out_dir`` (created if needed).

    Returns
    -------
    dict
        File role → path: ``gpkg``, ``bom``, ``zones``, ``summary_json``, ``summary_md``,
        ``map``, ``inventory``.

    Raises
    ------
    PlanningError
        If the folder cannot be created or written.
    """
    from villenum.hotspots.inventory import write_inventory
    from villenum.maps.offline import save_map
    from villenum.maps.plan import plan_map

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PlanningError(f"cannot create the output folder {out}: {exc.strerror}") from None
    zones_gdf = plan.city.zones[["zone_id", "geometry"]].merge(plan.zones, on="zone_id")
    layers = {
        "ap_sites": plan.sites,
        "candidates": plan.candidates,
        "trenches": plan.backhaul.trenches,
        "drops": plan.backhaul.drops,
        "point_of_presence": plan.backhaul.pop,
        "zones": gpd.GeoDataFrame(zones_gdf, geometry="geometry", crs=plan.city.crs),
    }
    files = {"gpkg": report.write_geopackage(out / "plan.gpkg", layers)}
    files["bom"] = out / "bom.csv"
    plan.bom.to_csv(files["bom"], index=False)
    files["zones"] = out / "zones.csv"
    plan.zones.to_csv(files["zones"], index=False)
    files["summary_json"] = report.write_json(out / "summary.json", plan.summary)
    files["summary_md"] = out / "summary.md"
    files["summary_md"].write_text(
        report.summary_markdown(plan.summary, plan.zones, plan.bom), encoding="utf-8"
    )
    files["map"] = save_map(plan_map(plan), out / "map.html")
    # Only the planned hotspots: the existing ones are in the admin's own inventory.
    wgs = plan.sites[plan.sites["source"] != "existing"].to_crs("EPSG:4326")
    hotspots = [
        {
            "id": r.ap_id,
            "name": r.name,
            "lat": round(r.geometry.y, 6),
            "lon": round(r.geometry.x, 6),
            "zone": r.zone or None,
        }
        for r in wgs.itertuples()
    ]
    files["inventory"] = write_inventory(hotspots, out / "inventory.toml")
    return files
