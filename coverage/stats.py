"""Per-zone coverage statistics: share of area, residents and peak visitors covered."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from villenum.coverage.raster import CoverageResult
from villenum.errors import CoverageError

DEFAULT_THRESHOLDS_DBM = (-67.0, -70.0, -75.0)


def _label(threshold_dbm: float) -> str:
    return f"{threshold_dbm:g}dBm"


def zone_stats(
    city: Any,
    result: CoverageResult,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS_DBM,
    csv_path: str | Path | None = None,
) -> pd.DataFrame:
    """Share of each zone covered at each downlink threshold (uplink closing as well).

    Area is counted in grid cells whose centre lies in the zone; residents and peak visitors
    are the city's demand points (``kind`` ``resident`` / ``visitor``, August-peak ``weight``)
    at the cell they fall in. A last row ``ALL`` covers the whole city.

    Parameters
    ----------
    city
        The city model (``zones``, ``demand``).
    result
        A coverage result on a grid in the city's CRS.
    thresholds
        Downlink levels (dBm); −67 dBm is the usual target for voice and video, −75 dBm for
        browsing.
    csv_path
        When given, the table is also written there as UTF-8 CSV.

    Returns
    -------
    pandas.DataFrame
        One row per zone: ``zone_id``, ``name``, ``area_km2``, ``residents``,
        ``visitors_peak`` and, per threshold ``T``, ``area_share_T``, ``residents_share_T``,
        ``visitors_share_T`` (fractions 0–1; NaN where the zone has none), plus
        ``data_poor`` when the zones carry it.

    Raises
    ------
    CoverageError
        If the result's grid is not in the city's CRS, does not overlap the city's zones, or a
        threshold is not a number.
    """
    from affine import Affine
    from rasterio.features import rasterize

    if result.crs and str(city.crs) != result.crs:
        raise CoverageError(f"the coverage raster is in {result.crs}, the city in {city.crs}")
    try:
        levels = [float(t) for t in thresholds]
    except (TypeError, ValueError):
        raise CoverageError(f"thresholds must be numbers in dBm, got {thresholds!r}") from None
    zones = city.zones.reset_index(drop=True)
    n = len(zones)
    rows, cols = result.shape
    res = result.resolution_m
    zone_grid = rasterize(
        ((geom, i + 1) for i, geom in enumerate(zones.geometry)),
        out_shape=(rows, cols),
        transform=Affine(res, 0.0, result.left, 0.0, -res, result.top),
        fill=0,
        dtype="int32",
    ).reshape(-1)
    cells = np.bincount(zone_grid, minlength=n + 1)[1:]
    if not np.isfinite(result.rx_dbm.reshape(-1)[zone_grid > 0]).any():
        raise CoverageError(
            f"the coverage raster has no value in any zone of {getattr(city, 'name', 'the city')}"
            ": was it computed on another city?"
        )

    demand = city.demand
    zone_pos = {z: i for i, z in enumerate(zones["zone_id"])}
    point_zone = demand["zone_id"].map(zone_pos).fillna(-1).astype(int).to_numpy()
    idx = result.cell_index(demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy())
    weight = demand["weight"].to_numpy(dtype=np.float64)
    kinds = {"residents": demand["kind"].eq("resident"), "visitors": demand["kind"].eq("visitor")}

    def per_zone(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        ok = mask & (point_zone >= 0)
        return np.bincount(point_zone[ok], weights=values[ok], minlength=n)

    table = pd.DataFrame(
        {
            "zone_id": zones["zone_id"],
            "name": zones["name"] if "name" in zones else zones["zone_id"],
            "area_km2": cells * res * res / 1e6,
            "residents": per_zone(weight, kinds["residents"].to_numpy()),
            "visitors_peak": per_zone(weight, kinds["visitors"].to_numpy()),
        }
    )
    totals = {
        "zone_id": "ALL",
        "name": getattr(city, "name", "city"),
        "area_km2": table["area_km2"].sum(),
        "residents": table["residents"].sum(),
        "visitors_peak": table["visitors_peak"].sum(),
    }
    for level in levels:
        covered = result.covered(level).reshape(-1)
        covered_cells = np.bincount(zone_grid[covered], minlength=n + 1)[1:]
        at_points = np.where(idx >= 0, covered[np.maximum(idx, 0)], False)
        label = _label(level)
        with np.errstate(invalid="ignore", divide="ignore"):
            table[f"area_share_{label}"] = covered_cells / np.where(cells > 0, cells, np.nan)
            totals[f"area_share_{label}"] = covered_cells.sum() / max(cells.sum(), 1)
            for name, mask in kinds.items():
                got = per_zone(weight, mask.to_numpy() & at_points)
                table[f"{name}_share_{label}"] = got / np.where(
                    table[_base(name)] > 0, table[_base(name)], np.nan
                )
                totals[f"{name}_share_{label}"] = got.sum() / max(table[_base(name)].sum(), 1e-9)
    if "data_poor" in zones:
        table["data_poor"] = zones["data_poor"].astype(bool)
        totals["data_poor"] = bool(zones["data_poor"].any())
    table = pd.concat([table, pd.DataFrame([totals])], ignore_index=True)
    if csv_path is not None:
        path = Path(csv_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        table.to_csv(partial, index=False, float_format="%.4f")
        os.replace(partial, path)
    return table


def _base(kind: str) -> str:
    return "residents" if kind == "residents" else "visitors_peak"
