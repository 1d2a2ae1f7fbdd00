"""Reusable map layers for a folium map: zones, buildings, streets, rasters, sites, fibre, hotspots.

Every function takes layers in any projected CRS (the city model is in Lambert-93, EPSG:2154),
simplifies them in metres, reprojects them to WGS 84 and rounds coordinates to 10^-6 degree
(about 0.1 m), so a Biarritz map with its 14 000 buildings stays a few megabytes. Each layer
is an overlay of the map's single layer control, which renders after every layer.

Colours are colour-blind safe: the Okabe–Ito palette for categories [1]_, viridis-family
scales for quantities [2]_, and hotspot states are told apart by shape and text too.

References
----------
.. [1] M. Okabe and K. Ito, "Color Universal Design (CUD): how to make figures and
   presentations that are friendly to colorblind people", J*FLY, 2008.
.. [2] J. R. Nuñez, C. R. Anderton and R. S. Renslow, "Optimizing colormaps with
   consideration for color vision deficiency to enable accurate interpretation of scientific
   data", PLOS ONE 13(7): e0199239, 2018 (cividis).
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import folium
import numpy as np
import numpy.typing as npt
import shapely
import shapely.geometry

from villenum.errors import MapError
from villenum.maps._elements import GeoJsonLayer, Legend

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

#: The Okabe–Ito palette, safe for the common colour-vision deficiencies (black last).
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
#: Perceptually uniform colour maps readable with colour-vision deficiencies (and ``*_r``).
CVD_SAFE_COLORMAPS = ("viridis", "cividis", "magma", "inferno", "plasma")
#: Hotspot state -> (colour, shape, symbol, label); shape and symbol repeat what colour says.
HOTSPOT_STATES: dict[str, tuple[str, str, str, str]] = {
    "up": ("#009E73", "circle", "✓", "up"),
    "degraded": ("#E69F00", "triangle", "!", "degraded"),
    "down": ("#D55E00", "square", "✕", "down"),
    "unknown": ("#7f7f7f", "diamond", "?", "unknown / not polled"),
}
# Street kind (the city model's `highway`) -> (line width px, dash pattern).
_STREET_STYLES = {
    "major": (4.0, None),
    "medium": (3.0, None),
    "minor": (1.8, None),
    "pedestrian": (1.5, "4 3"),
}
_STREET_COLOR = "#555555"
_NO_DATA = "#d9d9d9"
_DECIMALS = 6


def wgs84_bounds(*layers: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """Return ``(west, south, east, north)`` in degrees around all the given layers.

    Use it to open a map on them: ``offline_map(bounds_wgs84=wgs84_bounds(city.boundary))``.

    Raises
    ------
    MapError
        If a layer has no CRS or all layers are empty.
    """
    boxes = [_check_gdf(gdf, "layer").to_crs(4326).total_bounds for gdf in layers if len(gdf) > 0]
    if not boxes:
        raise MapError("cannot compute map bounds: every layer is empty")
    stacked = np.vstack(boxes)
    west, south = stacked[:, :2].min(axis=0)
    east, north = stacked[:, 2:].max(axis=0)
    return float(west), float(south), float(east), float(north)


def add_zones(
    m: folium.Map,
    zones: gpd.GeoDataFrame,
    column: str | None = None,
    *,
    name: str = "Zones",
    label_column: str = "name",
    colormap: str = "cividis",
    vmin: float | None = None,
    vmax: float | None = None,
    legend_title: str | None = None,
    tooltip_columns: Sequence[str] | None = None,
    show: bool = True,
) -> GeoJsonLayer:
    """Draw zones as outlines, or as a choropleth of a numeric column with its legend.

    Parameters
    ----------
    m
        The map (from :func:`villenum.maps.offline.offline_map`).
    zones
        Polygons with a CRS (the city model's ``zones``: ``zone_id``, ``name``...).
    column
        Numeric column to colour by (e.g. ``"population"``); ``None`` draws outlines only.
    name
        The layer's name in the layer control.
    label_column
        Column shown in bold in the tooltip.
    colormap, vmin, vmax
        Colour-blind-safe colour map and its range (default: the column's range).
    legend_title
        Legend title (default: the column name made readable).
    tooltip_columns
        Other columns in the tooltip (default: ``column`` and ``population`` if present).
    show
        Whether the layer is on when the map opens.

    Returns
    -------
    GeoJsonLayer
        The layer added to the map.

    Raises
    ------
    MapError
        If the zones have no CRS, a column is missing or not numeric, or the colour map is
        not colour-blind safe.
    """
    gdf = _prepare(zones, "zones", polygons=True, simplify_m=2.0)
    if tooltip_columns is None:
        tooltip_columns = [c for c in dict.fromkeys([column, "population"]) if c]
    if column is None:
        styles = [{"color": "#333333", "weight": 2, "fill": True, "fillOpacity": 0.03}]
        indices: Sequence[int] = [0] * len(gdf)
    else:
        values = _numeric(gdf, column, "zones")
        colours, lo, hi = _scale(values, colormap, vmin, vmax)
        styles = [
            {"color": "#333333", "weight": 1.5, "fillColor": c, "fillOpacity": 0.6} for c in colours
        ]
        indices = range(len(gdf))
        title = legend_title or _alias(column)
        add_legend(m, title, _gradient(lo, hi), colormap=colormap)
    layer = _vector_layer(gdf, styles, name, indices, label_column, tooltip_columns, show=show)
    return _add(m, layer)


def add_polygons(
    m: folium.Map,
    polygons: gpd.GeoDataFrame,
    *,
    name: str,
    color: str,
    fill_opacity: float = 0.5,
    label_column: str | None = None,
    tooltip_columns: Sequence[str] = (),
    simplify_m: float = 1.0,
    show: bool = True,
) -> GeoJsonLayer:
    """Draw plain filled polygons (water, parks, beaches...) in one colour.

    Parameters
    ----------
    m
        The map.
    polygons
        Polygons with a CRS.
    name
        The layer's name in the layer control.
    color
        Fill colour (the outline is the same colour).
    fill_opacity
        Fill opacity, 0–1.
    label_column, tooltip_columns
        Tooltip title column and other tooltip columns (none by default).
    simplify_m
        Douglas–Peucker tolerance in metres.
    show
        Whether the layer is on when the map opens.

    Returns
    -------
    GeoJsonLayer
        The layer added to the map.

    Raises
    ------
    MapError
        If the polygons have no CRS or are not polygons.
    """
    gdf = _prepare(polygons, name.lower(), polygons=True, simplify_m=simplify_m)
    style = {"color": color, "weight": 0.8, "fillColor": color, "fillOpacity": fill_opacity}
    layer = _vector_layer(gdf, [style], name, None, label_column, tooltip_columns, show=show)
    return _add(m, layer)


def add_buildings(
    m: folium.Map,
    buildings: gpd.GeoDataFrame,
    *,
    name: str = "Buildings",
    color: str = "#7a7a7a",
    tooltip_columns: Sequence[str] | None = ("kind", "height_m"),
    simplify_m: float = 0.5,
    show: bool = True,
) -> GeoJsonLayer:
    """Draw building footprints (grey, with name/kind/height tooltips).

    Parameters
    ----------
    m
        The map.
    buildings
        Polygons with a CRS (the city model's ``buildings``).
    name
        The layer's name in the layer control.
    color
        Fill and outline colour.
    tooltip_columns
        Columns in the tooltip besides ``name`` (missing ones are skipped); ``None`` for no
        tooltips, which makes a smaller page.
    simplify_m
        Douglas–Peucker tolerance in metres (0.5 m keeps footprints true at street scale).
    show
        Whether the layer is on when the map opens.

    Returns
    -------
    GeoJsonLayer
        The layer added to the map.

    Raises
    ------
    MapError
        If the buildings have no CRS or are not polygons.
    """
    gdf = _prepare(buildings, "buildings", polygons=True, simplify_m=simplify_m)
    style = {"color": color, "weight": 0.5, "fillColor": color, "fillOpacity": 0.55}
    label = "name" if tooltip_columns is not None else None
    layer = _vector_layer(gdf, [style], name, None, label, tooltip_columns or (), show=show)
    return _add(m, layer)


def add_streets(
    m: folium.Map,
    streets: nx.MultiDiGraph | gpd.GeoDataFrame,
    *,
    name: str = "Streets",
    show: bool = True,
) -> GeoJsonLayer:
    """Draw the street network, line width by kind (major, medium, minor, pedestrian dashed).

    Parameters
    ----------
    m
        The map.
    streets
        The city model's projected osmnx graph (edge ``geometry``, ``highway``/``kind``,
        ``name``; graph attribute ``crs``) or a GeoDataFrame of lines with a ``kind`` or
        ``highway`` column. Both directions of a two-way street are drawn once.
    name
        The layer's name in the layer control.
    show
        Whether the layer is on when the map opens.

    Returns
    -------
    GeoJsonLayer
        The layer added to the map.

    Raises
    ------
    MapError
        If the graph or frame has no CRS or its geometries are not lines.
    """
    gdf = _street_frame(streets)
    gdf = _prepare(gdf, "streets", polygons=False, simplify_m=1.0)
    kinds = [_first(k) for k in gdf["kind"]] if "kind" in gdf else ["minor"] * len(gdf)
    order = list(_STREET_STYLES)
    indices = [order.index(k) if k in _STREET_STYLES else order.index("minor") for k in kinds]
    styles = [
        {"color": _STREET_COLOR, "weight": w, "opacity": 0.9, "dashArray": d, "fill": False}
        for w, d in _STREET_STYLES.values()
    ]
    layer = _vector_layer(gdf, styles, name, indices, "name", ["kind"], show=show)
    return _add(m, layer)


def add_raster(
    m: folium.Map,
    data: npt.NDArray[np.float64] | str | os.PathLike[str],
    *,
    bounds: Sequence[float] | None = None,
    transform: Any = None,
    crs: Any = None,
    colormap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    legend_title: str = "",
    name: str = "Raster",
    opacity: float = 0.7,
    nodata: float | None = None,
    band: int = 1,
    max_pixels: int = 2048,
    show: bool = True,
) -> folium.raster_layers.ImageOverlay:
    """Overlay a raster (e.g. a coverage map in dBm) with a colour-blind-safe scale and legend.

    The raster is warped to Web Mercator (the map's projection) so each pixel lands where it
    belongs, coloured, and embedded as a PNG; NaN and ``nodata`` cells are transparent.

    Parameters
    ----------
    m
        The map.
    data
        A 2-D array (row 0 is the north edge), or the path of a GeoTIFF (its transform, CRS
        and nodata are used unless given), such as a coverage map's.
    bounds
        ``(minx, miny, maxx, maxy)`` of the array in ``crs`` units (or give ``transform``).
    transform
        The array's affine transform (``rasterio``/``affine``), instead of ``bounds``.
    crs
        The array's CRS (default EPSG:2154, the city model's).
    colormap
        A colour-blind-safe matplotlib colour map: one of :data:`CVD_SAFE_COLORMAPS`, or its
        ``_r`` reversal.
    vmin, vmax
        The value range of the colour scale (default: the data's range).
    legend_title
        The legend title, with the unit (e.g. ``"RSSI (dBm)"``); empty for no legend.
    name
        The layer's name in the layer control.
    opacity
        Opacity of the overlay, 0–1.
    nodata
        A value meaning "no data" besides NaN.
    band
        The GeoTIFF band to draw (1-based; e.g. 1 = received power of a coverage GeoTIFF).
    max_pixels
        Longest side of the embedded image; larger rasters are resampled down.
    show
        Whether the layer is on when the map opens.

    Returns
    -------
    folium.raster_layers.ImageOverlay
        The overlay added to the map.

    Raises
    ------
    MapError
        If the GeoTIFF cannot be read, the array is not 2-D or holds no data, the geo-reference
        is missing, or the colour map is not colour-blind safe.
    """
    import rasterio
    from rasterio.transform import from_bounds
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    cmap = _colormap(colormap)
    if isinstance(data, str | os.PathLike):
        try:
            with rasterio.open(data) as src:
                if not 1 <= band <= src.count:
                    raise MapError(
                        f"raster {os.fspath(data)} has {src.count} band(s), no band {band}"
                    )
                array = src.read(band, masked=True).astype(np.float64).filled(np.nan)
                transform = transform or src.transform
                crs = crs or src.crs
                nodata = nodata if nodata is not None else src.nodata
        except rasterio.errors.RasterioIOError as exc:
            raise MapError(f"cannot read raster {os.fspath(data)}: {exc}") from None
    else:
        array = np.array(data, dtype=np.float64)
    if array.ndim != 2 or min(array.shape) == 0:
        raise MapError(f"raster '{name}' must be a non-empty 2-D array, got shape {array.shape}")
    if nodata is not None:
        array[array == nodata] = np.nan
    if not np.isfinite(array).any():
        raise MapError(f"raster '{name}' holds no data (every cell is NaN or nodata)")
    height, width = array.shape
    if transform is None:
        if bounds is None or len(bounds) != 4:
            raise MapError(f"raster '{name}' needs bounds=(minx, miny, maxx, maxy) or transform")
        transform = from_bounds(*bounds, width, height)
    src_crs = rasterio.crs.CRS.from_user_input(crs or "EPSG:2154")
    left, top = transform @ (0, 0)
    right, bottom = transform @ (width, height)
    dst_transform, dst_w, dst_h = calculate_default_transform(
        src_crs,
        "EPSG:3857",
        width,
        height,
        min(left, right),
        min(top, bottom),
        max(left, right),
        max(top, bottom),
    )
    scale = max(dst_w, dst_h) / max_pixels
    if scale > 1:
        dst_w, dst_h = max(1, round(dst_w / scale)), max(1, round(dst_h / scale))
        dst_transform = dst_transform @ dst_transform.scale(scale, scale)
    warped = np.full((dst_h, dst_w), np.nan)
    reproject(
        array,
        warped,
        src_transform=transform,
        src_crs=src_crs,
        src_nodata=np.nan,
        dst_transform=dst_transform,
        dst_crs="EPSG:3857",
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    lo, hi = _range(array, vmin, vmax)
    rgba = cmap(np.clip((warped - lo) / (hi - lo), 0.0, 1.0), bytes=True)
    rgba[~np.isfinite(warped), 3] = 0
    west, north = _to_lonlat(*(dst_transform @ (0, 0)))
    east, south = _to_lonlat(*(dst_transform @ (dst_w, dst_h)))
    overlay = folium.raster_layers.ImageOverlay(
        image=_png_data_uri(rgba),
        bounds=[[south, west], [north, east]],
        opacity=opacity,
        name=name,
        show=show,
        interactive=False,
    )
    _add(m, overlay)
    if legend_title:
        add_legend(m, legend_title, _gradient(lo, hi), colormap=colormap)
    return overlay


def add_sites(
    m: folium.Map,
    sites: gpd.GeoDataFrame,
    *,
    name: str = "Sites",
    column: str | None = None,
    label_column: str = "name",
    tooltip_columns: Sequence[str] | None = None,
    color: str = OKABE_ITO[0],
    radius: float = 6,
    legend_title: str | None = None,
    show: bool = True,
) -> GeoJsonLayer:
    """Draw sites (antennas, access points, candidates) as circles, coloured by category.

    Parameters
    ----------
    m
        The map.
    sites
        Points with a CRS.
    name
        The layer's name in the layer control.
    column
        Category column to colour by (Okabe–Ito colours and a legend); ``None``: one colour.
    label_column
        Column shown in bold in the tooltip (skipped if missing).
    tooltip_columns
        Other columns in the tooltip (default: every non-geometry column, up to 6).
    color
        The colour when ``column`` is ``None``.
    radius
        Circle radius in pixels.
    legend_title
        Title of the category legend (default: the column name).
    show
        Whether the layer is on when the map opens.

    Returns
    -------
    GeoJsonLayer
        The layer added to the map.

    Raises
    ------
    MapError
        If the sites have no CRS, are not points, or ``column`` has more categories than
        the palette has colours.
    """
    gdf = _prepare(sites, "sites", points=True)
    if tooltip_columns is None:
        skip = {gdf.geometry.name, label_column}
        tooltip_columns = [c for c in gdf.columns if c not in skip][:6]
    base = {"color": "#ffffff", "weight": 1.5, "fillOpacity": 0.9}
    if column is None:
        styles = [{**base, "fillColor": color}]
        indices: Sequence[int] = [0] * len(gdf)
    else:
        categories, indices = _categories(gdf, column, "sites")
        styles = [{**base, "fillColor": c} for c in OKABE_ITO[: len(categories)]]
        entries = [(str(c), OKABE_ITO[i], "circle") for i, c in enumerate(categories)]
        add_legend(m, legend_title or _alias(column), entries)
    layer = _vector_layer(
        gdf, styles, name, indices, label_column, tooltip_columns, radius=radius, show=show
    )
    return _add(m, layer)


def add_fibre(
    m: folium.Map,
    trenches: gpd.GeoDataFrame,
    *,
    name: str = "Fibre backhaul",
    column: str | None = None,
    color: str = OKABE_ITO[0],
    weight: float = 3.5,
    tooltip_columns: Sequence[str] | None = None,
    legend_title: str | None = None,
    show: bool = True,
) -> GeoJsonLayer:
    """Draw fibre routes (trenches, ducts), optionally with a colour and dash per category.

    Parameters
    ----------
    m
        The map.
    trenches
        Lines with a CRS (e.g. the Steiner backhaul of :mod:`villenum.planning`).
    name
        The layer's name in the layer control.
    column
        Category column (e.g. ``"kind"``: new trench / existing duct); each category gets an
        Okabe–Ito colour and a dash pattern, and a legend.
    color
        The colour when ``column`` is ``None``.
    weight
        Line width in pixels.
    tooltip_columns
        Columns in the tooltip (default: every non-geometry column, up to 6).
    legend_title
        Title of the legend (default: the layer name).
    show
        Whether the layer is on when the map opens.

    Returns
    -------
    GeoJsonLayer
        The layer added to the map.

    Raises
    ------
    MapError
        If the routes have no CRS or are not lines.
    """
    gdf = _prepare(trenches, "fibre", polygons=False, simplify_m=0.5)
    if tooltip_columns is None:
        tooltip_columns = [c for c in gdf.columns if c != gdf.geometry.name][:6]
    dashes = (None, "8 5", "2 4", "12 4 2 4")
    if column is None:
        styles = [{"color": color, "weight": weight, "opacity": 0.95}]
        indices: Sequence[int] = [0] * len(gdf)
        add_legend(m, legend_title or name, [(name, color, "line")])
    else:
        categories, indices = _categories(gdf, column, "fibre")
        styles = [
            {
                "color": OKABE_ITO[i],
                "weight": weight,
                "opacity": 0.95,
                "dashArray": dashes[i % len(dashes)],
            }
            for i in range(len(categories))
        ]
        entries = [
            (str(c), OKABE_ITO[i], "dash" if dashes[i % len(dashes)] else "line")
            for i, c in enumerate(categories)
        ]
        add_legend(m, legend_title or name, entries)
    return _add(m, _vector_layer(gdf, styles, name, indices, None, tooltip_columns, show=show))


def add_hotspots(
    m: folium.Map,
    hotspots: gpd.GeoDataFrame,
    *,
    state_column: str = "state",
    label_column: str = "name",
    tooltip_columns: Sequence[str] | None = None,
    states: Mapping[str, tuple[str, str, str, str]] | None = None,
    name: str = "Hotspots",
    legend: bool = True,
    show: bool = True,
) -> GeoJsonLayer:
    """Draw hotspots with a colour, a shape and a symbol per state, and a state legend.

    Parameters
    ----------
    m
        The map.
    hotspots
        Points with a CRS and a state column (``up``, ``degraded``, ``down``, ``unknown``
        by default; see :data:`HOTSPOT_STATES`). A state not in ``states`` is drawn as
        ``unknown`` and named as it is in the tooltip.
    state_column
        The column holding the state.
    label_column
        Column shown in bold in the tooltip (skipped if missing).
    tooltip_columns
        Other columns in the tooltip (default: every non-geometry column, up to 6).
    states
        ``state -> (colour, shape, symbol, label)`` replacing :data:`HOTSPOT_STATES`; shapes
        are ``circle``, ``triangle``, ``square`` and ``diamond``.
    name
        The layer's name in the layer control.
    legend
        Whether to add the legend of the states present.
    show
        Whether the layer is on when the map opens.

    Returns
    -------
    GeoJsonLayer
        The layer added to the map.

    Raises
    ------
    MapError
        If the hotspots have no CRS, are not points, or lack the state column.
    """
    table = dict(states or HOTSPOT_STATES)
    table.setdefault("unknown", HOTSPOT_STATES["unknown"])
    gdf = _prepare(hotspots, "hotspots", points=True)
    if state_column not in gdf.columns:
        raise MapError(f"hotspots have no '{state_column}' column (columns: {list(gdf.columns)})")
    if tooltip_columns is None:
        skip = {gdf.geometry.name, label_column}
        tooltip_columns = [c for c in gdf.columns if c not in skip][:6]
    order = list(table)
    raw = ["unknown" if _missing(s) else str(s) for s in gdf[state_column]]
    indices = [order.index(s) if s in table else order.index("unknown") for s in raw]
    icons = [_state_icon(*table[s][:3], title=table[s][3]) for s in order]
    layer = _vector_layer(
        gdf,
        [{}] * len(order),
        name,
        indices,
        label_column,
        tooltip_columns,
        icons=icons,
        show=show,
    )
    if legend:
        present = [s for s in order if order.index(s) in set(indices)]
        entries = [(table[s][3], table[s][0], table[s][1], table[s][2]) for s in present]
        add_legend(m, name, entries)
    return _add(m, layer)


def add_legend(
    m: folium.Map,
    title: str,
    entries: Iterable[Sequence[str]],
    *,
    colormap: str | None = None,
    position: str = "bottomright",
) -> Legend:
    """Add a legend box to the map.

    Parameters
    ----------
    m
        The map.
    title
        The legend title (plain text, escaped).
    entries
        ``(label, colour)`` rows, or ``(label, colour, shape)`` with shape ``square``
        (default), ``circle``, ``line``, ``dash``, ``triangle`` or ``diamond``, or
        ``(label, colour, shape, symbol)``. With ``colormap``, the entries are
        ``(low_label, high_label)`` of a colour bar instead.
    colormap
        Draw a continuous colour bar of this colour-blind-safe colour map.
    position
        Leaflet control corner.

    Returns
    -------
    Legend
        The legend control added to the map.
    """
    rows = [f"<b>{html.escape(title)}</b>"]
    if colormap is not None:
        low, high = (html.escape(str(v)) for v in next(iter(entries)))
        cmap = _colormap(colormap)
        stops = ",".join(_hex(cmap(x)) for x in np.linspace(0, 1, 11))
        rows.append(
            f'<span class="vn-bar" style="background:linear-gradient(to right,{stops})"></span>'
        )
        rows.append(f'<div class="vn-ends"><span>{low}</span><span>{high}</span></div>')
    else:
        for entry in entries:
            label, colour = entry[0], entry[1]
            shape = entry[2] if len(entry) > 2 else "square"
            symbol = entry[3] if len(entry) > 3 else ""
            rows.append(
                f"<div>{_swatch(colour, shape, symbol)}<span>{html.escape(label)}</span></div>"
            )
    legend = Legend("".join(rows), position=position)
    m.add_child(legend)
    return legend


# --- preparing frames -------------------------------------------------------------------------


def _check_gdf(gdf: Any, what: str) -> gpd.GeoDataFrame:
    import geopandas as gpd

    if not isinstance(gdf, gpd.GeoDataFrame):
        raise MapError(f"{what} must be a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise MapError(f"{what} have no CRS; set it (the city model uses EPSG:2154)")
    return gdf


def _prepare(
    gdf: Any,
    what: str,
    *,
    polygons: bool | None = None,
    points: bool = False,
    simplify_m: float = 0.0,
) -> gpd.GeoDataFrame:
    """Check, drop empty geometries, simplify in metres, reproject to WGS 84 and round."""
    import geopandas as gpd

    gdf = _check_gdf(gdf, what)
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    kinds = set(gdf.geom_type.unique())
    expected = (
        {"Point"}
        if points
        else {"Polygon", "MultiPolygon"}
        if polygons
        else {"LineString", "MultiLineString"}
    )
    if not kinds <= expected:
        raise MapError(
            f"{what} must be {' or '.join(sorted(expected))} geometries, "
            f"found {', '.join(sorted(kinds - expected))}"
        )
    geoms = gdf.geometry
    if simplify_m > 0 and gdf.crs.is_projected:
        geoms = geoms.simplify(simplify_m, preserve_topology=True)
    rounded = shapely.transform(
        np.asarray(geoms.to_crs(4326).values), lambda xy: np.round(xy, _DECIMALS)
    )
    return gdf.set_geometry(gpd.GeoSeries(rounded, index=gdf.index, crs=4326))


def _street_frame(streets: Any) -> gpd.GeoDataFrame:
    """A GeoDataFrame of street lines from an osmnx graph (one row per two-way street)."""
    import geopandas as gpd
    import networkx as nx
    from shapely.geometry import LineString

    if not isinstance(streets, nx.MultiDiGraph | nx.MultiGraph | nx.DiGraph | nx.Graph):
        frame = _check_gdf(streets, "streets")
        if "kind" not in frame and "highway" in frame:
            frame = frame.assign(kind=frame["highway"])
        return frame
    crs = streets.graph.get("crs")
    if crs is None:
        raise MapError("the street graph has no 'crs' graph attribute (osmnx sets it)")
    seen: set[tuple[Any, Any, Any]] = set()
    rows = []
    for u, v, k, data in streets.edges(keys=True, data=True):
        key = (min(u, v, key=str), max(u, v, key=str), k)
        if key in seen:
            continue
        seen.add(key)
        geom = data.get("geometry")
        if geom is None:
            nu, nv = streets.nodes[u], streets.nodes[v]
            geom = LineString([(nu["x"], nu["y"]), (nv["x"], nv["y"])])
        rows.append(
            {
                "name": _first(data.get("name")),
                "kind": _first(data.get("kind", data.get("highway"))),
                "geometry": geom,
            }
        )
    return gpd.GeoDataFrame(
        rows, columns=["name", "kind", "geometry"], geometry="geometry", crs=crs
    )


def _first(value: Any) -> Any:
    # osmnx merges the tags of simplified edges into lists
    return value[0] if isinstance(value, list) and value else value


def _numeric(gdf: gpd.GeoDataFrame, column: str, what: str) -> npt.NDArray[np.float64]:
    if column not in gdf.columns:
        raise MapError(f"{what} have no column '{column}' (columns: {list(gdf.columns)})")
    try:
        return np.asarray(gdf[column], dtype=np.float64)
    except (TypeError, ValueError):
        raise MapError(f"{what} column '{column}' is not numeric") from None


def _categories(gdf: gpd.GeoDataFrame, column: str, what: str) -> tuple[list[Any], list[int]]:
    if column not in gdf.columns:
        raise MapError(f"{what} have no column '{column}' (columns: {list(gdf.columns)})")
    values = gdf[column].astype(str).tolist()
    categories = list(dict.fromkeys(sorted(values)))
    if len(categories) > len(OKABE_ITO):
        raise MapError(
            f"{what} column '{column}' has {len(categories)} categories; a map legend "
            f"stays readable with at most {len(OKABE_ITO)}"
        )
    return categories, [categories.index(v) for v in values]


# --- colours --------------------------------------------------------------------------------


def _colormap(name: str) -> Any:
    import matplotlib as mpl

    if name.removesuffix("_r") not in CVD_SAFE_COLORMAPS:
        raise MapError(
            f"colour map '{name}' is not colour-blind safe; use one of "
            f"{', '.join(CVD_SAFE_COLORMAPS)} (or a '_r' reversal)"
        )
    return mpl.colormaps[name]


def _range(
    values: npt.NDArray[np.float64], vmin: float | None, vmax: float | None
) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    lo = float(vmin) if vmin is not None else float(finite.min()) if finite.size else 0.0
    hi = float(vmax) if vmax is not None else float(finite.max()) if finite.size else 1.0
    if hi <= lo:  # a uniform layer still needs a non-empty scale
        hi = lo + 1.0
    return lo, hi


def _scale(
    values: npt.NDArray[np.float64], colormap: str, vmin: float | None, vmax: float | None
) -> tuple[list[str], float, float]:
    cmap = _colormap(colormap)
    lo, hi = _range(values, vmin, vmax)
    colours = [
        _hex(cmap(min(max((v - lo) / (hi - lo), 0.0), 1.0))) if math.isfinite(v) else _NO_DATA
        for v in values
    ]
    return colours, lo, hi


def _gradient(lo: float, hi: float) -> list[tuple[str, str]]:
    return [(_fmt(lo), _fmt(hi))]


def _hex(rgba: Sequence[float]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(round(255 * c) for c in rgba[:3]))


def _png_data_uri(rgba: npt.NDArray[np.uint8]) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _to_lonlat(x: float, y: float) -> tuple[float, float]:
    # inverse spherical Web Mercator (EPSG:3857), exact by definition of that projection
    radius = 6378137.0
    return math.degrees(x / radius), math.degrees(2 * math.atan(math.exp(y / radius)) - math.pi / 2)


# --- symbols and tooltips -------------------------------------------------------------------


_SHAPES = {
    "circle": '<circle cx="11" cy="11" r="9"/>',
    "triangle": '<path d="M11 1.5 21 20H1z"/>',
    "square": '<rect x="2" y="2" width="18" height="18" rx="1.5"/>',
    "diamond": '<path d="M11 1 21 11 11 21 1 11z"/>',
}


def _state_icon(colour: str, shape: str, symbol: str, *, title: str = "", size: int = 22) -> str:
    if shape not in _SHAPES:
        raise MapError(f"unknown marker shape '{shape}'; use one of {', '.join(_SHAPES)}")
    y = 15.5 if shape == "triangle" else 15
    # a marker says its state to screen readers; a legend swatch is decoration beside its text
    a11y = f'role="img" aria-label="{html.escape(title)}"' if title else 'aria-hidden="true"'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 22 22" {a11y}>'
        f'<g fill="{html.escape(colour)}" stroke="#ffffff" stroke-width="1.5">{_SHAPES[shape]}</g>'
        f'<text x="11" y="{y}" text-anchor="middle" font-size="11" font-weight="bold" '
        f'font-family="sans-serif" fill="#ffffff">{html.escape(symbol)}</text></svg>'
    )


def _swatch(colour: str, shape: str, symbol: str) -> str:
    if shape in _SHAPES and (shape != "square" or symbol):
        return _state_icon(colour, shape, symbol, size=16)
    colour = html.escape(colour)
    if shape in ("line", "dash"):
        dash = ' stroke-dasharray="5 3"' if shape == "dash" else ""
        return (
            f'<svg width="22" height="12" aria-hidden="true"><line x1="1" y1="6" x2="21" y2="6" '
            f'stroke="{colour}" stroke-width="3"{dash}/></svg>'
        )
    return (
        f'<span style="display:inline-block;width:14px;height:14px;background:{colour};'
        'border:1px solid #555"></span>'
    )


def _alias(column: str) -> str:
    units = {
        "_m2": " (m²)",
        "_km2": " (km²)",
        "_m": " (m)",
        "_eur": " (€)",
        "_dbm": " (dBm)",
        "_db": " (dB)",
        "_pct": " (%)",
        "_mhz": " (MHz)",
        "_mbps": " (Mbit/s)",
    }
    for suffix, unit in units.items():
        if column.endswith(suffix):
            return column.removesuffix(suffix).replace("_", " ") + unit
    return column.replace("_", " ")


def _fmt(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return "–"
        if float(value).is_integer():
            return f"{int(value):,}".replace(",", " ")
        return f"{value:,.1f}".replace(",", " ") if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return f"{int(value):,}".replace(",", " ")
    return str(value)


def _vector_layer(
    gdf: gpd.GeoDataFrame,
    styles: Sequence[dict[str, Any]],
    name: str,
    style_index: Sequence[int] | None,
    label_column: str | None,
    tooltip_columns: Iterable[str],
    **kwargs: Any,
) -> GeoJsonLayer:
    """A :class:`GeoJsonLayer` of a prepared frame, tooltips from the given columns."""
    label = label_column if label_column and label_column in gdf.columns else None
    columns = [c for c in tooltip_columns if c in gdf.columns and c != label]
    fields = ([""] if label else []) + [_alias(c) for c in columns]
    table = [gdf[c].tolist() for c in ([label] if label else []) + columns]
    values = [[_fmt(v) if _present(v) else None for v in row] for row in zip(*table, strict=True)]
    return GeoJsonLayer(
        [shapely.geometry.mapping(g) for g in gdf.geometry],
        styles,
        name,
        style_index=style_index,
        tooltip_fields=fields,
        tooltip_values=values if fields else None,
        **kwargs,
    )


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _present(value: Any) -> bool:
    return not _missing(value) and value != ""


def _add(m: folium.Map, layer: Any) -> Any:
    """Add a layer, and a layer control if the map has none (rendered last, see offline)."""
    m.add_child(layer)
    if not any(isinstance(c, folium.LayerControl) for c in m._children.values()):
        m.add_child(folium.LayerControl(collapsed=False))
    return layer
