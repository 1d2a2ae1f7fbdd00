"""Candidate access-point sites and the demand they serve.

Candidates come from these sources, in order of preference when two are too close:

0. ``existing`` — hotspots already deployed (the monitor's ``inventory.toml``): the planner
   keeps them and places the new ones around them;
1. ``user`` — sites the city already has in mind (a GeoJSON of points);
2. ``roof`` — roofs of public buildings (schools, churches, halls, the mairie...) and other
   large named buildings: a mast 2 m above the roof, where power and a room are at hand;
3. ``street`` — points every ``street_step_m`` along the streets, a proxy for lamp posts (a
   6 m mast: Biarritz's street lights are 4–8 m).

Points on water or sand (beaches) are dropped, and a minimum spacing thins the rest.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from villenum.errors import DataError, PlanningError

log = logging.getLogger(__name__)

# OSM building=* values of public buildings whose roofs a city can use.
PUBLIC_KINDS = frozenset(
    {
        "public",
        "civic",
        "government",
        "townhall",
        "school",
        "college",
        "university",
        "kindergarten",
        "church",
        "chapel",
        "sports_hall",
        "sports_centre",
        "stadium",
        "hospital",
        "library",
        "museum",
        "train_station",
        "transportation",
        "fire_station",
        "community_centre",
        "grandstand",
        "pavilion",
    }
)
SOURCE_PRIORITY = {"existing": -1, "user": 0, "roof": 1, "street": 2}
Season = Literal["peak", "off"]


def candidate_sites(
    city: Any,
    *,
    street_step_m: float = 60.0,
    mast_height_m: float = 6.0,
    roof_mast_m: float = 2.0,
    large_roof_m2: float = 1500.0,
    min_spacing_m: float = 30.0,
    user_sites: str | Path | gpd.GeoDataFrame | None = None,
    include: tuple[str, ...] = ("user", "roof", "street"),
    existing: str | Path | None = None,
) -> gpd.GeoDataFrame:
    """Candidate access-point sites of a city.

    Parameters
    ----------
    city
        A :class:`villenum.data.City` (EPSG:2154).
    street_step_m
        Spacing of the lamp-post proxies along each street (m).
    mast_height_m
        Antenna height of a street site (m).
    roof_mast_m
        Mast height above a roof (m).
    large_roof_m2
        Named buildings with a footprint at least this large count as public roofs too
        (casino, halls, hotels the city can rent a roof on).
    min_spacing_m
        No two candidates closer than this; the user's sites win, then roofs, then streets.
    user_sites
        A GeoJSON/GeoPackage of points (or a GeoDataFrame) with optional ``name`` and
        ``height_m`` columns.
    include
        Which sources to use.
    existing
        A hotspot inventory (``inventory.toml``, the monitor's format): deployed hotspots,
        kept as candidates with ``source="existing"`` and their inventory ``id`` as
        ``candidate_id``.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in the city's CRS with ``candidate_id``, ``source``, ``name``, ``kind``,
        ``height_m`` and ``zone_id``, in a stable order.

    Raises
    ------
    PlanningError
        For non-positive spacings or heights, an unknown source, or no candidate left.
    DataError
        If the user's file cannot be read or holds no points.
    InventoryError
        If the inventory of existing hotspots is invalid.
    """
    for name, value in (
        ("street_step_m", street_step_m),
        ("mast_height_m", mast_height_m),
        ("min_spacing_m", min_spacing_m),
    ):
        if not (isinstance(value, int | float) and value > 0):
            raise PlanningError(f"{name} must be a positive number of metres, got {value!r}")
    unknown = set(include) - set(SOURCE_PRIORITY)
    if unknown:
        raise PlanningError(
            f"unknown candidate source(s) {sorted(unknown)}: use user, roof, street"
        )
    parts = []
    if existing is not None:
        parts.append(_existing_sites(existing, city, mast_height_m))
    if "user" in include and user_sites is not None:
        parts.append(_user_sites(user_sites, city.crs, mast_height_m))
    if "roof" in include:
        parts.append(_roof_sites(city, roof_mast_m, large_roof_m2))
    if "street" in include:
        parts.append(_street_sites(city, street_step_m, mast_height_m))
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True) if parts else pd.DataFrame()
    if len(frame) == 0:
        raise PlanningError("no candidate sites: every source is empty or excluded")
    sites = gpd.GeoDataFrame(frame, geometry="geometry", crs=city.crs)
    sites = sites[~_excluded(city, sites)]
    sites = _thin(sites, min_spacing_m)
    if len(sites) == 0:
        raise PlanningError("no candidate sites left after removing water, sand and close pairs")
    sites["zone_id"] = _zone_of(city, sites)
    sites = sites.reset_index(drop=True)
    width = len(str(len(sites)))
    ids = [f"c{i:0{width}d}" for i in range(len(sites))]
    if "hotspot_id" in sites:
        ids = [
            h if isinstance(h, str) else c for h, c in zip(sites["hotspot_id"], ids, strict=True)
        ]
    sites.insert(0, "candidate_id", ids)
    return sites[["candidate_id", "source", "name", "kind", "height_m", "zone_id", "geometry"]]


def demand_weights(city: Any, season: Season = "peak") -> npt.NDArray[np.float64]:
    """People at each demand point: August peak (``weight``) or off-season (``weight_off``).

    Raises
    ------
    PlanningError
        For an unknown season.
    """
    if season not in ("peak", "off"):
        raise PlanningError(f"season must be 'peak' or 'off', got {season!r}")
    column = "weight" if season == "peak" else "weight_off"
    return city.demand[column].to_numpy(dtype=np.float64)


def _existing_sites(path: str | Path, city: Any, height: float) -> pd.DataFrame:
    from villenum.coverage.raster import SITE_TOLERANCE_M
    from villenum.hotspots.inventory import load_inventory

    crs = city.crs
    hotspots = load_inventory(path)
    points = gpd.points_from_xy(
        [h.lon for h in hotspots], [h.lat for h in hotspots], crs="EPSG:4326"
    )
    frame = pd.DataFrame(
        {
            "source": "existing",
            "name": [h.name for h in hotspots],
            "kind": "existing hotspot",
            "height_m": height,
            "hotspot_id": [h.id for h in hotspots],
            "geometry": gpd.GeoSeries(points).to_crs(crs).to_numpy(),
        }
    )
    # The coverage engine only models sites on or near the commune's land.
    land = shapely.unary_union(city.boundary.geometry.to_numpy())
    away = shapely.distance(land, frame["geometry"].to_numpy())
    for i in np.flatnonzero(away > SITE_TOLERANCE_M):
        log.warning(
            "existing hotspot %s is %.0f m outside %s: left out of the plan",
            frame["hotspot_id"].iloc[i],
            away[i],
            city.name,
        )
    return frame[away <= SITE_TOLERANCE_M]


def _user_sites(source: str | Path | gpd.GeoDataFrame, crs: str, height: float) -> pd.DataFrame:
    if isinstance(source, gpd.GeoDataFrame):
        gdf, where = source, "user sites"
    else:
        where = str(source)
        try:
            gdf = gpd.read_file(source)
        except Exception as exc:  # pyogrio raises several types for unreadable files
            raise DataError(f"cannot read candidate sites file {where}: {exc}") from None
    if gdf.crs is None:
        raise DataError(f"{where} has no CRS (GeoJSON is WGS 84; set it for other formats)")
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    gdf = gdf[gdf.geometry.geom_type == "Point"].to_crs(crs)
    if len(gdf) == 0:
        raise DataError(f"{where} holds no point geometries")
    heights = pd.to_numeric(gdf["height_m"], errors="coerce") if "height_m" in gdf else None
    if heights is not None and ((heights <= 0) | heights.isna()).any():
        raise DataError(f"{where}: every height_m must be a positive number of metres")
    return pd.DataFrame(
        {
            "source": "user",
            "name": gdf["name"].fillna("").astype(str) if "name" in gdf else "",
            "kind": "user",
            "height_m": heights.to_numpy() if heights is not None else height,
            "geometry": gdf.geometry.to_numpy(),
        }
    )


def _roof_sites(city: Any, mast_m: float, large_m2: float) -> pd.DataFrame:
    b = city.buildings
    named = b["name"].fillna("").astype(str).str.len() > 0
    area = b.geometry.area
    public = b["kind"].isin(PUBLIC_KINDS) | b["name"].fillna("").str.contains(
        r"(?i)mairie|h[oô]tel de ville|m[ée]diath[èe]que|gymnase|[ée]cole|coll[èe]ge|lyc[ée]e"
    )
    pick = b[(public & (area >= 150)) | (named & (area >= large_m2))]
    return pd.DataFrame(
        {
            "source": "roof",
            "name": pick["name"].fillna("").astype(str).to_numpy(),
            "kind": pick["kind"].astype(str).to_numpy(),
            "height_m": pick["height_m"].to_numpy(dtype=np.float64) + mast_m,
            "geometry": pick.geometry.representative_point().to_numpy(),
        }
    )


def _street_sites(city: Any, step_m: float, height: float) -> pd.DataFrame:
    rows: dict[tuple[Any, Any], tuple[Any, str]] = {}
    for u, v, data in city.streets.edges(data=True):
        key = (u, v) if str(u) <= str(v) else (v, u)
        if key in rows or "geometry" not in data:
            continue
        name = data.get("name", "")
        rows[key] = (data["geometry"], name[0] if isinstance(name, list) else str(name or ""))
    if not rows:
        return pd.DataFrame(columns=["source", "name", "kind", "height_m", "geometry"])
    geoms = np.array([g for g, _ in rows.values()], dtype=object)
    names = np.array([n for _, n in rows.values()], dtype=object)
    lengths = shapely.length(geoms)
    # Points at step/2, 3·step/2, ... so that short streets get one in their middle.
    counts = np.maximum(np.floor(lengths / step_m + 0.5), 1).astype(int)
    owner = np.repeat(np.arange(len(geoms)), counts)
    k = np.concatenate([np.arange(c) for c in counts])
    frac = (k + 0.5) / counts[owner]
    points = shapely.line_interpolate_point(geoms[owner], frac, normalized=True)
    return pd.DataFrame(
        {
            "source": "street",
            "name": names[owner],
            "kind": "lamp post",
            "height_m": height,
            "geometry": points,
        }
    )


def _excluded(city: Any, sites: gpd.GeoDataFrame) -> npt.NDArray[np.bool_]:
    """Sites on water or sand, or outside the commune (the user's and existing ones stay)."""
    out = np.zeros(len(sites), dtype=bool)
    pts = sites.geometry.to_numpy()
    for layer in (getattr(city, "water", None), getattr(city, "beaches", None)):
        if layer is None or len(layer) == 0:
            continue
        area = shapely.unary_union(layer.geometry.to_numpy())
        shapely.prepare(area)
        out |= shapely.contains_xy(area, shapely.get_x(pts), shapely.get_y(pts))
    land = shapely.unary_union(city.boundary.geometry.to_numpy()).buffer(20.0)
    shapely.prepare(land)
    out |= ~shapely.contains_xy(land, shapely.get_x(pts), shapely.get_y(pts))
    return out & ~np.isin(sites["source"].to_numpy(), ["user", "existing"])


def _thin(sites: gpd.GeoDataFrame, spacing_m: float) -> gpd.GeoDataFrame:
    """Greedy thinning in priority order: keep a site, drop every later one within reach."""
    from scipy.spatial import cKDTree

    order = np.argsort(sites["source"].map(SOURCE_PRIORITY).to_numpy(), kind="stable")
    sites = sites.iloc[order].reset_index(drop=True)
    xy = shapely.get_coordinates(sites.geometry.to_numpy())
    neighbours = cKDTree(xy).query_ball_point(xy, spacing_m)
    # Sites the city named (existing, user) are never thinned, only what lies around them.
    keep_all = np.isin(sites["source"].to_numpy(), ["existing", "user"])
    removed = np.zeros(len(sites), dtype=bool)
    for i, near in enumerate(neighbours):
        if not removed[i]:
            removed[[j for j in near if j > i and not keep_all[j]]] = True
    return sites[~removed]


def _zone_of(city: Any, sites: gpd.GeoDataFrame) -> npt.NDArray[np.object_]:
    joined = gpd.sjoin_nearest(
        sites[["geometry"]], city.zones[["zone_id", "geometry"]], how="left", max_distance=500
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["zone_id"].reindex(sites.index).to_numpy(dtype=object)
