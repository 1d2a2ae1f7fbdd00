"""The plan's deliverables: per-zone table, bill of materials, GeoPackage and summary files.

Everything an engineer takes to the council is written here, in formats that open anywhere:
a GeoPackage for QGIS (sites, candidates, trenches, drops, point of presence, zones with their
coverage), CSV tables, a JSON summary for machines and a Markdown summary for people.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from villenum.errors import PlanningError

if TYPE_CHECKING:
    from villenum.planning.fibre import Backhaul, FibreCosts


def zone_table(
    city: Any,
    weights: npt.NDArray[np.float64],
    covered: npt.NDArray[np.bool_],
    site_zones: npt.ArrayLike,
) -> pd.DataFrame:
    """Demand, covered demand and access points per zone.

    Parameters
    ----------
    city
        The city model (``zones`` and ``demand`` with ``zone_id``).
    weights
        Demand weight of each demand point (the scenario's).
    covered
        Whether each demand point is served by the plan.
    site_zones
        ``zone_id`` of each planned access point.

    Returns
    -------
    pandas.DataFrame
        One row per zone (``zone_id``, ``name``, ``demand``, ``covered``, ``covered_pct``,
        ``aps``) and a last ``ALL`` row for the whole city.
    """
    zone_ids = city.demand["zone_id"].to_numpy()
    frame = pd.DataFrame({"zone_id": zone_ids, "demand": weights, "covered": weights * covered})
    per_zone = frame.groupby("zone_id", dropna=True)[["demand", "covered"]].sum()
    table = city.zones[["zone_id", "name"]].set_index("zone_id").join(per_zone).fillna(0.0)
    aps = pd.Series(np.asarray(site_zones, dtype=object)).value_counts()
    table["aps"] = aps.reindex(table.index).fillna(0).astype(int)
    total = pd.DataFrame(
        {
            "name": ["whole city"],
            "demand": [float(weights.sum())],
            "covered": [float(weights[covered].sum())],
            "aps": [len(np.asarray(site_zones))],
        },
        index=pd.Index(["ALL"], name="zone_id"),
    )
    table = pd.concat([table, total])
    with np.errstate(invalid="ignore", divide="ignore"):
        table["covered_pct"] = np.where(
            table["demand"] > 0, 100.0 * table["covered"] / table["demand"], np.nan
        )
    table["demand"] = table["demand"].round(0)
    table["covered"] = table["covered"].round(0)
    table["covered_pct"] = table["covered_pct"].round(1)
    return table.reset_index()[["zone_id", "name", "demand", "covered", "covered_pct", "aps"]]


def bill_of_materials(backhaul: Backhaul, n_aps: int, costs: FibreCosts) -> pd.DataFrame:
    """Quantities, unit costs and totals of the plan (€, excl. VAT).

    Returns
    -------
    pandas.DataFrame
        Columns ``item``, ``quantity``, ``unit``, ``unit_eur``, ``total_eur``, ``note``;
        street works are grouped by street class and method, and a ``TOTAL`` row ends it.
    """
    rows: list[dict[str, Any]] = []
    trenches = backhaul.trenches
    if len(trenches):
        grouped = trenches.groupby(["method", "kind", "eur_per_m"], as_index=False)[
            "length_m"
        ].sum()
        for r in grouped.itertuples():
            rows.append(
                {
                    "item": f"fibre in {r.method}, {r.kind} streets",
                    "quantity": round(r.length_m, 1),
                    "unit": "m",
                    "unit_eur": r.eur_per_m,
                    "total_eur": round(r.length_m * r.eur_per_m, 2),
                    "note": "civil works + cable; planning rate, replace with a local quote",
                }
            )
    drops = backhaul.drops
    rows.append(
        {
            "item": "drops from street to AP",
            "quantity": round(float(drops["length_m"].sum()), 1),
            "unit": "m",
            "unit_eur": costs.drop_eur_per_m + costs.cable_eur_per_m,
            "total_eur": round(float(drops["cost_eur"].sum()), 2),
            "note": "short trench + cable",
        }
    )
    ports = backhaul.optical.pon_ports
    rows += [
        {
            "item": "outdoor Wi-Fi access point, mounted and powered",
            "quantity": n_aps,
            "unit": "pcs",
            "unit_eur": costs.ap_eur,
            "total_eur": n_aps * costs.ap_eur,
            "note": "Wi-Fi 6 outdoor AP, mast/bracket, power, ONT",
        },
        {
            "item": f"GPON splitter 1:{backhaul.optical.split_ratio}",
            "quantity": ports,
            "unit": "pcs",
            "unit_eur": costs.splitter_eur,
            "total_eur": ports * costs.splitter_eur,
            "note": "with closure",
        },
        {
            "item": "GPON OLT port at the point of presence",
            "quantity": ports,
            "unit": "pcs",
            "unit_eur": costs.olt_port_eur,
            "total_eur": ports * costs.olt_port_eur,
            "note": "",
        },
    ]
    bom = pd.DataFrame(rows)
    total = {
        "item": "TOTAL",
        "quantity": np.nan,
        "unit": "",
        "unit_eur": np.nan,
        "total_eur": round(float(bom["total_eur"].sum()), 2),
        "note": "excl. VAT",
    }
    return pd.concat([bom, pd.DataFrame([total])], ignore_index=True)


def write_geopackage(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    """Write layers to one GeoPackage, replacing the file only once all are written."""
    # The partial file keeps the .gpkg extension GDAL expects.
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    tmp.unlink(missing_ok=True)
    try:
        for name, gdf in layers.items():
            gdf.to_file(tmp, layer=name, driver="GPKG")
        tmp.replace(path)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise PlanningError(f"cannot write the plan GeoPackage {path}: {exc}") from None
    return path


def summary_markdown(summary: dict[str, Any], zones: pd.DataFrame, bom: pd.DataFrame) -> str:
    """A one-page plan summary for people (Markdown)."""
    p = summary
    gap = p["placement"]["gap"]
    lines = [
        f"# Free outdoor Wi-Fi plan — {p['city']}",
        "",
        f"* **{p['aps']} access points** serve **{p['covered_pct']:.1f} %** of the "
        f"{p['season_label']} demand ({p['covered']:.0f} of {p['demand']:.0f} people) at "
        f"{p['threshold_dbm']:.0f} dBm or better, uplink closing.",
        f"* Placement: {p['placement']['method']} in {p['placement']['seconds']:.1f} s; "
        + (
            "proven optimal."
            if p["placement"]["optimal"]
            else f"within {100 * gap:.2f} % of the optimum (proven bound)."
        ),
        f"* Fibre backhaul: {p['fibre']['length_m'] / 1000:.2f} km of street works from the "
        f"point of presence, {p['fibre']['improvement_pct']:.1f} % cheaper than networkx's "
        f"Steiner tree ({p['fibre']['baseline_length_m'] / 1000:.2f} km).",
        f"* GPON check (1:{p['optical']['split_ratio']}, longest run "
        f"{p['optical']['longest_path_m'] / 1000:.2f} km): loss {p['optical']['loss_db']:.1f} dB "
        f"of {p['optical']['budget_db']:.0f} dB, margin {p['optical']['margin_db']:.1f} dB — "
        + ("**passes**." if p["optical"]["ok"] else "**FAILS**: use C+ optics or a 1:32 split."),
        f"* **Total: {p['total_eur']:,.0f} € excl. VAT**"
        + (f" (budget {p['budget_eur']:,.0f} €)." if p.get("budget_eur") else "."),
        "",
        "## Coverage per neighbourhood",
        "",
        "| zone | name | demand | covered | % | APs |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in zones.itertuples():
        pct = (
            "–"
            if (isinstance(r.covered_pct, float) and math.isnan(r.covered_pct))
            else (f"{r.covered_pct:.1f}")
        )
        lines.append(
            f"| {r.zone_id} | {r.name} | {r.demand:.0f} | {r.covered:.0f} | {pct} | {r.aps} |"
        )
    lines += [
        "",
        "## Bill of materials (€, excl. VAT)",
        "",
        "| item | quantity | unit | total € |",
        "|---|---:|---|---:|",
    ]
    for r in bom.itertuples():
        qty = "" if pd.isna(r.quantity) else f"{r.quantity:g}"
        lines.append(f"| {r.item} | {qty} | {r.unit} | {r.total_eur:,.0f} |")
    lines += ["", "## Caveats", ""] + [f"* {n}" for n in p["notes"]]
    lines += ["", f"Data: {p['attribution']}"]
    return "\n".join(lines) + "\n"


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Write JSON (UTF-8, indented) and return the path."""
    path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, default=_plain) + "\n", encoding="utf-8"
    )
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
