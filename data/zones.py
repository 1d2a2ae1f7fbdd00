"""Neighbourhoods derived reproducibly from the streets when no official layer is available.

No IRIS or quartier layer for Biarritz can be had offline, so the commune is cut into street
blocks (every street and the commune boundary, polygonised), and the blocks are merged into
neighbourhoods: the smallest region is repeatedly merged into the neighbour it shares the most
non-major street frontage with, so that major streets (and the coast, which is the boundary)
end up as the borders. The result tiles the commune exactly (the blocks do) and depends only on
the input geometry, so it is the same on every machine.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import polygonize, unary_union

from villenum.errors import DataError

# A border segment closer than this to a major street counts as major-street frontage.
_MAJOR_SNAP_M = 2.0
# Frontage along a major street is this much less attractive to merge across.
_MAJOR_PENALTY = 0.05
_STREET_PREFIX = re.compile(
    r"^(avenue|rue|boulevard|place|allée|allees|allées|rond-point|chemin|impasse|esplanade|"
    r"promenade|carrefour|square|quai|route|cours|passage|parvis|sentier|voie|montée|descente|"
    r"esplanade|plateau|perspective)\s+",
    re.IGNORECASE,
)
_ARTICLE = re.compile(r"^(de la |de l'|de l’|du |des |de |d'|d’|la |le |les |l'|l’)", re.IGNORECASE)


def derive_zones(
    boundary: shapely.Polygon | shapely.MultiPolygon,
    streets: gpd.GeoDataFrame,
    *,
    n_zones: int = 14,
    min_area_m2: float = 250_000.0,
    data_extent: shapely.Polygon | None = None,
) -> gpd.GeoDataFrame:
    """Cut a commune into neighbourhoods along its major streets.

    Parameters
    ----------
    boundary
        The commune polygon, in a projected metric CRS.
    streets
        Street centrelines (same CRS) with a ``kind`` column (``major`` marks the streets that
        should become borders) and an optional ``name``.
    n_zones
        The number of neighbourhoods wanted (merging stops there, or earlier if every remaining
        merge would cross a major street and all zones are at least ``min_area_m2``).
    min_area_m2
        Zones smaller than this are always merged into a neighbour.
    data_extent
        The area the street data covers. The part of the commune outside it has too few streets
        to be cut meaningfully: it becomes one zone of its own, flagged ``data_poor``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``zone_id`` (``Z01`` … from north to south), ``name``, ``data_poor`` and
        ``geometry``; the zones tile ``boundary``.

    Raises
    ------
    DataError
        If the streets do not cut the commune into blocks at all.
    """
    lines = streets.geometry.intersection(boundary)
    cuts = [*lines[~lines.is_empty], boundary.boundary]
    if data_extent is not None:
        cuts.append(data_extent.boundary.intersection(boundary))
    faces = [
        face
        for face in polygonize(unary_union(cuts))
        if boundary.contains(face.representative_point())
    ]
    poor = [
        f
        for f in faces
        if data_extent is not None and not data_extent.contains(f.representative_point())
    ]
    blocks = [f for f in faces if not any(f is p for p in poor)]
    if len(blocks) < 2:
        raise DataError("the streets do not divide the commune into blocks; supply a zones layer")
    block_geoms = np.array(blocks, dtype=object)
    areas = shapely.area(block_geoms)

    major = streets.loc[streets["kind"] == "major", "geometry"]
    major_union = unary_union(list(major)) if len(major) else shapely.GeometryCollection()
    borders = _block_borders(block_geoms, major_union)

    groups = _merge_blocks(len(blocks), areas, borders, n_zones, min_area_m2)
    zone_geoms = [shapely.union_all(block_geoms[idx]) for idx in groups]
    data_poor = [False] * len(zone_geoms)
    if poor:
        zone_geoms.append(shapely.union_all(poor))
        data_poor.append(True)
    zones = gpd.GeoDataFrame({"data_poor": data_poor}, geometry=zone_geoms, crs=streets.crs)
    # North to south, then west to east: a stable, readable order.
    centroids = zones.geometry.centroid
    zones = zones.iloc[np.lexsort((centroids.x.round(), -centroids.y.round()))].reset_index(
        drop=True
    )
    zones.insert(0, "zone_id", [f"Z{i + 1:02d}" for i in range(len(zones))])
    zones.insert(1, "name", _zone_names(zones, streets))
    return zones


def _block_borders(
    blocks: np.ndarray, major_union: shapely.Geometry
) -> dict[tuple[int, int], tuple[float, float]]:
    """Shared border length between adjacent blocks: (total, along a major street)."""
    major_zone = major_union.buffer(_MAJOR_SNAP_M)
    shapely.prepare(major_zone)
    tree = shapely.STRtree(blocks)
    left, right = tree.query(blocks, predicate="intersects")
    keep = left < right
    borders: dict[tuple[int, int], tuple[float, float]] = {}
    for i, j in zip(left[keep], right[keep], strict=True):
        shared = shapely.intersection(blocks[i].boundary, blocks[j].boundary)
        length = shared.length
        if length <= 0:
            continue  # touching at a corner only
        major_len = 0.0
        if not major_zone.is_empty and shapely.intersects(major_zone, shared):
            major_len = shapely.intersection(shared, major_zone).length
        borders[(int(i), int(j))] = (length, min(major_len, length))
    return borders


def _merge_blocks(
    n_blocks: int,
    areas: np.ndarray,
    borders: dict[tuple[int, int], tuple[float, float]],
    n_zones: int,
    min_area_m2: float,
) -> list[list[int]]:
    """Greedy region merging on aggregated border statistics (no geometry unions)."""
    members: dict[int, list[int]] = {i: [i] for i in range(n_blocks)}
    area = {i: float(a) for i, a in enumerate(areas)}
    # neighbour -> attractiveness of merging (frontage, major streets discounted)
    links: dict[int, dict[int, float]] = {i: {} for i in range(n_blocks)}
    for (i, j), (length, major_len) in borders.items():
        score = (length - major_len) + _MAJOR_PENALTY * major_len
        links[i][j] = links[i].get(j, 0.0) + score
        links[j][i] = links[j].get(i, 0.0) + score

    while len(members) > 1:
        smallest = min(members, key=lambda r: (area[r], r))
        if len(members) <= n_zones and area[smallest] >= min_area_m2:
            break
        neighbours = links[smallest]
        if not neighbours:  # an island block: leave it alone unless it is tiny
            if area[smallest] >= min_area_m2 or len(members) == 1:
                break
            area[smallest] = np.inf
            continue
        # Prefer strong frontage; between equals, the smaller neighbour keeps zones balanced.
        target = max(neighbours, key=lambda r: (neighbours[r] / np.sqrt(area[r]), -r))
        members[target].extend(members.pop(smallest))
        area[target] += area.pop(smallest)
        for other, score in links.pop(smallest).items():
            links[other].pop(smallest, None)
            if other != target:
                links[target][other] = links[target].get(other, 0.0) + score
                links[other][target] = links[other].get(target, 0.0) + score
    return [sorted(m) for m in members.values()]


def _zone_names(zones: gpd.GeoDataFrame, streets: gpd.GeoDataFrame) -> list[str]:
    """Name each zone after its most prominent street (major streets weigh three times more)."""
    named = streets[streets["name"].notna() & (streets["name"].astype(str) != "")]
    weight = np.where(named["kind"] == "major", 3.0, np.where(named["kind"] == "medium", 1.0, 0.3))
    named = named.assign(weight=weight)
    pieces = gpd.overlay(
        named[["name", "weight", "geometry"]], zones[["zone_id", "geometry"]], keep_geom_type=True
    )
    pieces["score"] = pieces.length * pieces["weight"]
    ranking = (
        pieces.groupby(["zone_id", "name"])["score"]
        .sum()
        .reset_index()
        .sort_values(["score", "name"], ascending=[False, True])
    )
    # Larger zones choose first, so a long avenue names the zone it dominates most.
    order = zones.assign(area=zones.area).sort_values("area", ascending=False)["zone_id"]
    used: set[str] = set()
    chosen: dict[str, str] = {}
    for zone_id in order:
        for street in ranking.loc[ranking["zone_id"] == zone_id, "name"]:
            label = short_name(street)
            if label not in used:
                used.add(label)
                chosen[zone_id] = label
                break
        else:
            chosen[zone_id] = f"Zone {zone_id[1:]}"
    return [
        f"{chosen[z]} (data-poor)" if poor else chosen[z]
        for z, poor in zip(zones["zone_id"], zones["data_poor"], strict=True)
    ]


def short_name(street: str) -> str:
    """The distinctive part of a French street name: ``"Avenue de la Marne"`` → ``"Marne"``."""
    rest = _STREET_PREFIX.sub("", street.strip(), count=1)
    rest = _ARTICLE.sub("", rest, count=1)
    rest = rest.strip() or street.strip()
    return rest[0].upper() + rest[1:]


def assign_zone(points: gpd.GeoSeries, zones: gpd.GeoDataFrame) -> pd.Series:
    """The ``zone_id`` containing each point (nearest zone for points on or outside the edge)."""
    geoms = points.to_numpy()
    tree = shapely.STRtree(zones.geometry.to_numpy())
    point_idx, zone_idx = tree.query(geoms, predicate="within")
    found = np.full(len(geoms), -1, dtype=np.intp)
    found[point_idx[::-1]] = zone_idx[::-1]  # on a shared border, the first zone wins
    missing = np.flatnonzero(found < 0)
    if len(missing):
        found[missing] = tree.nearest(geoms[missing])
    return pd.Series(zones["zone_id"].to_numpy()[found], index=points.index, name="zone_id")
