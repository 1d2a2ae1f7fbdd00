"""Fibre (FttH) eligibility per building from a fibre-route layer, by distance along streets.

A building is eligible when the drop from the nearest point of a fibre route to the building,
walked along the street graph, is at most ``max_distance_m``: the street node nearest to the
building is reached from the route's street nodes by the shortest path, and the straight hop
from that node to the building is added; a building within 30 m of a route is connected
directly (a drop cable). The commune's ARCEP figures (``city.fibre``) are
shown beside the result: they count connectable premises, not buildings, and are old.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from villenum.errors import CoverageError

# a street node belongs to a route when the route passes this close (m): routes are drawn
# along streets, rarely exactly on the graph's centre lines
ROUTE_SNAP_M = 15.0
# a building this close to a route is connected straight to it (a drop cable)
DROP_M = 30.0


def read_routes(path: str | Path, crs: str = "EPSG:2154") -> Any:
    """Read fibre routes (LineString/MultiLineString features) and project them to ``crs``.

    Raises
    ------
    CoverageError
        For a missing or unreadable file, no features, no CRS, or non-line geometry.
    """
    import geopandas as gpd

    path = Path(path)
    if not path.is_file():
        raise CoverageError(f"fibre routes file not found: {path}")
    try:
        routes = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise CoverageError(f"cannot read fibre routes {path}: {exc}") from None
    if routes.empty:
        raise CoverageError(f"{path} has no fibre routes")
    if routes.crs is None:
        raise CoverageError(f"{path} has no CRS; GeoJSON routes must be WGS84")
    kinds = set(routes.geom_type.dropna())
    if not kinds or not kinds <= {"LineString", "MultiLineString"}:
        raise CoverageError(f"{path}: fibre routes must be lines, found {', '.join(sorted(kinds))}")
    return routes.to_crs(crs)


def fibre_eligibility(city: Any, routes: Any, max_distance_m: float = 100.0) -> Any:
    """Distance along streets from a fibre route to every building, and eligibility.

    Parameters
    ----------
    city
        City model (``streets`` graph and ``buildings``, projected).
    routes
        GeoDataFrame of route lines in the city's CRS.
    max_distance_m
        Longest drop (m) for a building to count as eligible.

    Returns
    -------
    geopandas.GeoDataFrame
        The buildings with ``fibre_distance_m`` (inf when unreachable) and ``fibre_eligible``.

    Raises
    ------
    CoverageError
        If the routes are in another CRS, pass no street, or the distance is not positive.
    """
    import networkx as nx
    import shapely
    from scipy.spatial import cKDTree

    if not max_distance_m > 0:
        raise CoverageError(f"max distance must be > 0 m, got {max_distance_m}")
    if routes.crs is None or routes.crs != city.buildings.crs:
        raise CoverageError(f"fibre routes are in {routes.crs}, the city in {city.buildings.crs}")
    graph = city.streets.to_undirected()
    nodes = list(graph.nodes)
    xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes], dtype=np.float64)
    network = routes.geometry.union_all()
    near = shapely.distance(network, shapely.points(xy)) <= ROUTE_SNAP_M
    sources = [nodes[i] for i in np.flatnonzero(near)]
    if not sources:
        raise CoverageError(
            f"no fibre route passes within {ROUTE_SNAP_M:g} m of a street of {city.name}"
        )
    along = nx.multi_source_dijkstra_path_length(
        graph, sources, cutoff=max_distance_m, weight="length"
    )
    node_distance = np.array([along.get(n, np.inf) for n in nodes])
    centres = city.buildings.geometry.representative_point()
    bxy = np.column_stack([centres.x.to_numpy(), centres.y.to_numpy()])
    hop, nearest = cKDTree(xy).query(bxy)
    # a building beside the route is served by a direct drop, whatever the nearest node
    direct = shapely.distance(network, shapely.points(bxy))
    distance = np.minimum(node_distance[nearest] + hop, np.where(direct <= DROP_M, direct, np.inf))
    out = city.buildings.copy()
    out["fibre_distance_m"] = distance
    out["fibre_eligible"] = distance <= max_distance_m
    return out


def zone_fibre_table(city: Any, buildings: Any, csv_path: str | Path | None = None) -> pd.DataFrame:
    """Share of buildings (and of residents) eligible per zone, with the ARCEP commune figures.

    Parameters
    ----------
    city
        City model (``zones``, ``fibre``).
    buildings
        Output of :func:`fibre_eligibility` (``zone_id``, ``residents``, ``fibre_eligible``).
    csv_path
        When given, the table is also written there as CSV.

    Returns
    -------
    pandas.DataFrame
        Per zone ``buildings``, ``eligible``, ``eligible_share``, ``residents_share``; a last
        row ``ALL`` with, when known, ``arcep_quarter`` and ``arcep_connectable_share``
        (ARCEP connectable premises ÷ dwellings and businesses, commune-wide).
    """
    frame = pd.DataFrame(
        {
            "zone_id": buildings["zone_id"],
            "eligible": buildings["fibre_eligible"].astype(int),
            "residents": buildings["residents"].astype(float),
        }
    )
    frame["eligible_residents"] = frame["residents"] * frame["eligible"]
    grouped = frame.groupby("zone_id").agg(
        buildings=("eligible", "size"),
        eligible=("eligible", "sum"),
        residents=("residents", "sum"),
        eligible_residents=("eligible_residents", "sum"),
    )
    names = city.zones.set_index("zone_id")["name"]
    table = grouped.reindex(names.index, fill_value=0).reset_index()
    table.insert(1, "name", names.reindex(table["zone_id"]).to_numpy())
    total = table[["buildings", "eligible", "residents", "eligible_residents"]].sum()
    all_row = {"zone_id": "ALL", "name": city.name, **total.to_dict()}
    fibre = getattr(city, "fibre", None)
    if fibre is not None:
        all_row["arcep_quarter"] = fibre.latest_quarter
        all_row["arcep_connectable_share"] = fibre.latest_share
    table = pd.concat([table, pd.DataFrame([all_row])], ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["eligible_share"] = table["eligible"] / table["buildings"].where(
            table["buildings"] > 0
        )
        table["residents_share"] = table["eligible_residents"] / table["residents"].where(
            table["residents"] > 0
        )
    if csv_path is not None:
        path = Path(csv_path)
        partial = path.with_name(f".{path.name}.partial")
        table.to_csv(partial, index=False, float_format="%.4f")
        os.replace(partial, path)
    return table
