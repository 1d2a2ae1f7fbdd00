"""Where people are: residents per building (dasymetric) and peak-season visitor demand points.

Residents
    The commune's INSEE total is spread over residential buildings in proportion to their floor
    area (footprint × estimated levels) and rounded with the largest-remainder method, so that
    ``buildings.residents`` sums exactly to the total.
Visitors
    ``(peak_factor − 1) × residents`` extra people at the August peak (``off_season_factor`` for
    the rest of the year), placed where visitors gather: beaches, the seafront promenade and the
    main squares and pedestrian streets. The split between those places (``VISITOR_SHARES``) is
    an ASSUMPTION of this model, not a survey; outputs say so.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from villenum.data.zones import assign_zone

# OSM building=* values that house residents. "yes" (unspecified) dominates OSM in France and is
# mostly housing in Biarritz; very small footprints (sheds, garages) are excluded by area below.
RESIDENTIAL_KINDS = frozenset(
    {
        "yes",
        "apartments",
        "house",
        "detached",
        "semidetached_house",
        "residential",
        "terrace",
        "dormitory",
        "bungalow",
        "farm",
    }
)
MIN_RESIDENTIAL_FOOTPRINT_M2 = 30.0

# Default height by OSM building=* value when the source gives none (the same rules of thumb as
# the data source: 3.1 m per level plus 1.5 m; typed defaults for landmarks).
DEFAULT_HEIGHT_M = 7.7  # two levels
DEFAULT_HEIGHT_BY_KIND_M = {
    "church": 22.0,
    "chapel": 12.0,
    "cathedral": 30.0,
    "hotel": 18.0,
    "school": 10.0,
    "college": 12.0,
    "university": 14.0,
    "hospital": 18.0,
    "apartments": 13.9,
    "house": 7.7,
    "detached": 7.7,
    "garage": 3.0,
    "garages": 3.0,
    "shed": 2.5,
    "roof": 4.0,
    "hangar": 8.0,
    "industrial": 9.0,
    "retail": 6.0,
    "commercial": 9.0,
    "office": 13.9,
    "static_caravan": 3.0,
    "toilets": 3.0,
    "greenhouse": 3.0,
    "grandstand": 10.0,
}
LEVEL_HEIGHT_M = 3.1
GROUND_EXTRA_M = 1.5

# ASSUMPTION: how peak visitors spread over the places they gather.
VISITOR_SHARES = {"beach": 0.5, "seafront": 0.3, "square": 0.2}
BEACH_GRID_M = 25.0
LINE_SPACING_M = 20.0
SEAFRONT_DISTANCE_M = 120.0


def building_heights(height: pd.Series, kind: pd.Series) -> pd.Series:
    """Height in metres: the source value where it is positive, else the default of the kind."""
    defaults = kind.map(DEFAULT_HEIGHT_BY_KIND_M).fillna(DEFAULT_HEIGHT_M)
    given = pd.to_numeric(height, errors="coerce")
    return given.where(given > 0, defaults).astype(float)


def estimated_levels(height_m: pd.Series) -> pd.Series:
    """Storeys implied by a height (the inverse of ``levels × 3.1 m + 1.5 m``), at least one."""
    levels = np.rint((height_m.to_numpy() - GROUND_EXTRA_M) / LEVEL_HEIGHT_M)
    return pd.Series(np.maximum(levels, 1).astype(int), index=height_m.index)


def allocate_integer(total: int, weights: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Split an integer total in proportion to weights, summing exactly (largest remainder).

    Parameters
    ----------
    total
        The integer to split (e.g. the INSEE population).
    weights
        Non-negative weights; at least one must be positive.

    Returns
    -------
    numpy.ndarray
        Integer shares with ``shares.sum() == total``.
    """
    weights = np.asarray(weights, dtype=float)
    if total == 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    exact = total * weights / weights.sum()
    shares = np.floor(exact).astype(np.int64)
    remainder = total - int(shares.sum())
    # Ties broken by index so the result is reproducible.
    order = np.lexsort((np.arange(len(exact)), -(exact - shares)))
    shares[order[:remainder]] += 1
    return shares


def residents_by_building(
    buildings: gpd.GeoDataFrame, land: shapely.Geometry, population: int
) -> npt.NDArray[np.int64]:
    """Residents of each building: the commune total spread over residential floor area."""
    inside = buildings.geometry.representative_point().within(land).to_numpy()
    residential = (
        buildings["kind"].isin(RESIDENTIAL_KINDS).to_numpy()
        & (buildings.geometry.area.to_numpy() >= MIN_RESIDENTIAL_FOOTPRINT_M2)
        & inside
    )
    weights = np.where(residential, buildings["floor_area_m2"].to_numpy(), 0.0)
    return allocate_integer(population, weights)


def demand_points(
    buildings: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    beaches: gpd.GeoDataFrame,
    coastline: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    commune: shapely.Geometry,
    *,
    population: int,
    peak_factor: float,
    off_season_factor: float,
) -> gpd.GeoDataFrame:
    """Demand points: residents at building centroids and visitors where visitors gather.

    Parameters
    ----------
    buildings
        With ``residents``.
    streets
        Street centrelines with ``kind`` and ``name``.
    beaches, coastline
        Beach polygons and the coastline.
    zones
        The neighbourhoods (for ``zone_id``).
    commune
        The commune polygon; visitor places outside it (a neighbour's beach) are ignored.
    population
        Residents.
    peak_factor, off_season_factor
        Population at the August peak and off-season, as multiples of the residents.

    Returns
    -------
    geopandas.GeoDataFrame
        Points with ``weight`` (peak), ``weight_off`` (off-season), ``kind``
        (``resident``/``visitor``), ``place`` (``building``/``beach``/``seafront``/``square``)
        and ``zone_id``.
    """
    housed = buildings[buildings["residents"] > 0]
    residents = gpd.GeoDataFrame(
        {
            "weight": housed["residents"].astype(float).to_numpy(),
            "weight_off": housed["residents"].astype(float).to_numpy(),
            "kind": "resident",
            "place": "building",
        },
        geometry=housed.geometry.representative_point().to_numpy(),
        crs=buildings.crs,
    )
    visitors_peak = (peak_factor - 1.0) * population
    visitors_off = (off_season_factor - 1.0) * population
    places = {
        "beach": _grid_points(beaches.geometry.intersection(commune.buffer(50.0)), BEACH_GRID_M),
        "seafront": _line_points(_seafront_streets(streets, coastline, commune), LINE_SPACING_M),
        "square": _line_points(_square_streets(streets, commune), LINE_SPACING_M),
    }
    frames = [residents]
    for place, points in places.items():
        if len(points) == 0:
            continue
        share = VISITOR_SHARES[place] / len(points)
        frames.append(
            gpd.GeoDataFrame(
                {
                    "weight": visitors_peak * share,
                    "weight_off": visitors_off * share,
                    "kind": "visitor",
                    "place": place,
                },
                index=pd.RangeIndex(len(points)),
                geometry=points,
                crs=buildings.crs,
            )
        )
    demand = pd.concat(frames, ignore_index=True)
    demand["zone_id"] = assign_zone(demand.geometry, zones).to_numpy()
    return gpd.GeoDataFrame(demand, geometry="geometry", crs=buildings.crs)


def _seafront_streets(
    streets: gpd.GeoDataFrame, coastline: gpd.GeoDataFrame, commune: shapely.Geometry
) -> gpd.GeoSeries:
    coast = coastline.geometry.union_all()
    near = streets.geometry.distance(coast) <= SEAFRONT_DISTANCE_M
    return streets.geometry[near].intersection(commune)


def _square_streets(streets: gpd.GeoDataFrame, commune: shapely.Geometry) -> gpd.GeoSeries:
    names = streets["name"].fillna("").astype(str)
    squares = (streets["kind"] == "pedestrian") | names.str.match(
        r"(?i)^(place|esplanade|parvis)\b"
    )
    return streets.geometry[squares].intersection(commune)


def _line_points(lines: gpd.GeoSeries, spacing_m: float) -> npt.NDArray[np.object_]:
    merged = shapely.line_merge(lines[~lines.is_empty].union_all())
    parts = list(getattr(merged, "geoms", [merged])) if not merged.is_empty else []
    points = []
    for part in parts:
        if part.geom_type != "LineString":
            continue
        n = max(1, int(part.length // spacing_m))
        points.extend(
            shapely.line_interpolate_point(part, (np.arange(n) + 0.5) / n, normalized=True)
        )
    return np.array(points, dtype=object)


def _grid_points(polygons: gpd.GeoSeries, spacing_m: float) -> npt.NDArray[np.object_]:
    polygons = polygons[~polygons.is_empty]
    if polygons.empty:
        return np.array([], dtype=object)
    minx, miny, maxx, maxy = polygons.total_bounds
    xs, ys = np.meshgrid(
        np.arange(minx + spacing_m / 2, maxx, spacing_m),
        np.arange(miny + spacing_m / 2, maxy, spacing_m),
    )
    grid = shapely.points(xs.ravel(), ys.ravel())
    area = polygons.union_all()
    inside = grid[shapely.contains(area, grid)]
    # Small beaches narrower than the grid still get one point.
    extra = [p.representative_point() for p in polygons if not shapely.contains(p, inside).any()]
    return np.array([*inside, *extra], dtype=object)
