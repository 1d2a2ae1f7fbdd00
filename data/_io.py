"""Reading the city files with one-line :class:`~villenum.errors.DataError` messages."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import osmnx as ox
import pandas as pd
import pyogrio
import shapely

from villenum.errors import DataError

WGS84 = "EPSG:4326"


def read_layer(path: Path, crs: str, *, what: str) -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, GeoPackage, ``.gz`` GeoJSON) and project it to ``crs``.

    Parameters
    ----------
    path
        The file. A ``.gz`` suffix is read through GDAL's ``/vsigzip/``.
    crs
        The projected CRS of the city model (e.g. ``"EPSG:2154"``).
    what
        The layer's name, for error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer in ``crs``, with valid, non-empty geometries.

    Raises
    ------
    DataError
        If the file is missing or unreadable, has no CRS and coordinates that are not
        longitude/latitude, or holds invalid geometries.
    """
    if not path.is_file():
        raise DataError(f"{what} layer not found: {path}")
    source = f"/vsigzip/{path}" if path.suffix == ".gz" else str(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL chatter on GeoJSON metadata
            gdf = gpd.read_file(source, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"cannot read the {what} layer {path}: {reason}") from None
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)].reset_index(drop=True)
    # GDAL labels every GeoJSON as WGS84 (RFC 7946): projected coordinates in such a file mean
    # its producer forgot to reproject, which would silently put the city at the wrong place.
    if (gdf.crs is None or gdf.crs.is_geographic) and len(gdf) and not _looks_like_lonlat(gdf):
        raise DataError(f"the {what} layer {path} is not in longitude/latitude as its CRS says")
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        first = int(invalid.to_numpy().nonzero()[0][0])
        reason = shapely.is_valid_reason(gdf.geometry.iloc[first])
        raise DataError(
            f"the {what} layer {path} has {int(invalid.sum())} invalid geometries "
            f"(first: feature {first}, {reason})"
        )
    return gdf.to_crs(crs)


def _looks_like_lonlat(gdf: gpd.GeoDataFrame) -> bool:
    minx, miny, maxx, maxy = gdf.total_bounds
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def read_street_graph(path: Path, crs: str) -> nx.MultiDiGraph:
    """Read an osmnx GraphML street graph (optionally gzipped) and project it to ``crs``.

    Every edge gets ``kind`` (the street class) beside osmnx's ``highway``.

    Raises
    ------
    DataError
        If the file is missing, not GraphML, or lacks node coordinates or edge lengths.
    """
    if not path.is_file():
        raise DataError(f"streets layer not found: {path}")
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            graph = ox.io.load_graphml(graphml_str=fh.read())
    except (OSError, EOFError, UnicodeDecodeError, ValueError, KeyError, SyntaxError) as exc:
        raise DataError(f"cannot read the street graph {path}: {exc}") from None
    except nx.NetworkXError as exc:
        raise DataError(f"cannot read the street graph {path}: {exc}") from None
    if graph.number_of_nodes() == 0:
        raise DataError(f"the street graph {path} has no nodes")
    if "crs" not in graph.graph:
        raise DataError(f"the street graph {path} has no 'crs' graph attribute")
    for _, data in graph.nodes(data=True):
        if "x" not in data or "y" not in data:
            raise DataError(f"the street graph {path} has nodes without x/y coordinates")
    for _, _, data in graph.edges(data=True):
        if "length" not in data:
            raise DataError(f"the street graph {path} has edges without a 'length'")
        data["kind"] = data.get("highway", "unknown")
    return ox.project_graph(graph, to_crs=crs)


def read_csv(path: Path, *, what: str, **kwargs: object) -> pd.DataFrame:
    """Read a CSV file, turning I/O and parse errors into :class:`DataError`."""
    if not path.is_file():
        raise DataError(f"{what} file not found: {path}")
    try:
        return pd.read_csv(path, **kwargs)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot read the {what} file {path}: {exc}") from None
