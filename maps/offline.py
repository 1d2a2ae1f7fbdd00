"""folium maps that work with no internet: local Leaflet and plugins, no tiles by default.

A city engineer on a site visit, an admin at 3 a.m. behind a broken uplink and a CI machine
all open the same maps, so nothing a map needs may come from a CDN. Three ways to serve the
local assets, one per use:

- :func:`save_map` writes ``map.html`` and a sibling ``map_files/`` folder linked by relative
  URLs: the page opens from disk or from any web server;
- ``offline_map(..., asset_url_prefix="/static/maps")`` with :func:`asset_blueprint`
  registered in a Flask app: the live admin map links the assets from the app;
- otherwise (a notebook cell, ``m.save()``, :func:`render_map`), the assets are inlined in the
  page, which is then self-contained.

The map has no tile layer unless asked: the vector layers of :mod:`villenum.maps.layers` draw
the streets, buildings and zones. The "© OpenStreetMap contributors" attribution is always
shown (the city model is built from OpenStreetMap).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import folium
from branca.element import Element, Figure, MacroElement
from folium.template import Template

from villenum.errors import MapError
from villenum.maps import _assets

if TYPE_CHECKING:
    from flask import Blueprint

#: The attribution the city model's licence (ODbL) requires; the same text as folium's
#: OpenStreetMap tiles, so Leaflet shows it once when those tiles are on.
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
#: Where :func:`asset_blueprint` serves the assets by default.
DEFAULT_ASSET_PREFIX = "/static/maps"
# OpenStreetMap's land colour: without tiles, Leaflet's default grey reads as "not loaded".
_BACKGROUND = "#f2efe9"


class OfflineFigure(Figure):
    """A branca Figure whose rendering swaps every CDN link for the local assets.

    Parameters
    ----------
    asset_url_prefix
        URL under which the assets are served (e.g. ``"/static/maps"``); ``None`` inlines them.
    lang
        The page language (``<html lang>``).
    **kwargs
        Passed to :class:`branca.element.Figure`.
    """

    # branca's page template, with the document language (screen readers, hyphenation)
    _template = Template(
        "<!DOCTYPE html>\n"
        '<html lang="{{ this.lang|e }}">\n'
        "<head>\n"
        "{% if this.title %}<title>{{ this.title|e }}</title>{% endif %}"
        "    {{ this.header.render(**kwargs) }}\n"
        "</head>\n"
        "<body>\n"
        "    {{ this.html.render(**kwargs) }}\n"
        "</body>\n"
        "<script>\n"
        "    {{ this.script.render(**kwargs) }}\n"
        "</script>\n"
        "</html>\n"
    )

    def __init__(
        self, asset_url_prefix: str | None = None, *, lang: str = "en", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.lang = lang
        self.asset_url_prefix = asset_url_prefix.rstrip("/") if asset_url_prefix else None
        self.used_assets: set[str] = set()
        self._relative_base: str | None = None  # set by save_map while it renders
        # an empty icon: otherwise browsers ask the server for /favicon.ico (a 404 error)
        self.header.add_child(Element('<link rel="icon" href="data:,"/>'), name="favicon")

    def render(self, **kwargs: Any) -> str:
        """Render the page with local assets (branca's ``Figure.render`` plus the swap)."""
        for child in self._children.values():
            if isinstance(child, folium.Map):
                _one_layer_control(child)
            child.render(**kwargs)
        base = self._relative_base or self.asset_url_prefix
        mode = "url" if base is not None else "inline"
        self.used_assets = _assets.localise_header(self.header, mode, base or "")
        return self._template.render(this=self, kwargs=kwargs)


def _one_layer_control(m: folium.Map) -> None:
    """Keep one layer control (the last added wins) and render it after every layer.

    :mod:`villenum.maps.layers` adds a control as layers come; a caller may add its own too
    (collapsed, say). Two controls would list the layers twice, and a control rendered before
    a layer would reference a JavaScript variable not defined yet.
    """
    keys = [k for k, c in m._children.items() if isinstance(c, folium.LayerControl)]
    if keys:
        control = m._children.pop(keys[-1])
        for key in keys[:-1]:
            del m._children[key]
        m._children[keys[-1]] = control


class _Attribution(MacroElement):
    """Always-on attribution: Leaflet's own prefix, OpenStreetMap, then the other sources."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {%- for text in this.texts %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ text|tojson }});
        {%- endfor %}
        {% endmacro %}
        """
    )

    def __init__(self, texts: Sequence[str]) -> None:
        super().__init__()
        self._name = "Attribution"
        self.texts = list(texts)


def offline_map(
    *,
    bounds_wgs84: Sequence[float] | None = None,
    location: Sequence[float] | None = None,
    zoom_start: int = 14,
    max_zoom: int = 19,
    tiles: str | folium.TileLayer | None = None,
    asset_url_prefix: str | None = None,
    title: str = "Map — villenum",
    lang: str = "en",
    attribution: str | Sequence[str] | None = None,
    **kwargs: Any,
) -> folium.Map:
    """Create a folium map whose JavaScript and CSS never come from the internet.

    Parameters
    ----------
    bounds_wgs84
        ``(west, south, east, north)`` in degrees (the order of ``GeoDataFrame.total_bounds``);
        the map opens fitted to them.
    location
        ``(latitude, longitude)`` of the centre, used with ``zoom_start`` when no bounds.
    zoom_start
        Initial zoom level when the map is centred on ``location``.
    max_zoom
        Deepest zoom level (19 is building scale; plugins such as MarkerCluster need one
        when there is no tile layer to set it).
    tiles
        ``None`` (default) for no background tiles, so the map is fully readable offline;
        a folium tile name such as ``"OpenStreetMap"`` when online.
    asset_url_prefix
        URL prefix where a Flask app serves :func:`asset_blueprint`; ``None`` inlines the
        assets when rendered, and :func:`save_map` writes them next to the HTML.
    title
        The page title (browser tab, bookmarks, screen readers).
    lang
        The page language (BCP 47, e.g. ``"fr"``).
    attribution
        Data sources to credit besides OpenStreetMap (HTML), e.g. ``"ARCEP"``.
    **kwargs
        Passed to :class:`folium.Map` (``prefer_canvas`` defaults to ``True``: 14 000
        buildings draw much faster on a canvas than as SVG elements).

    Returns
    -------
    folium.Map
        The map, attached to an :class:`OfflineFigure`.

    Raises
    ------
    MapError
        If neither bounds nor location is given, or they are not WGS 84 degrees (for
        instance Lambert-93 metres).
    """
    if kwargs.get("attribution_control") is False:
        raise MapError("attribution_control=False would hide the OpenStreetMap attribution")
    kwargs.setdefault("prefer_canvas", True)
    if bounds_wgs84 is not None:
        west, south, east, north = _check_bounds(bounds_wgs84)
        center: Sequence[float] = ((south + north) / 2, (west + east) / 2)
    elif location is not None:
        center = _check_location(location)
    else:
        raise MapError("offline_map needs bounds_wgs84=(west, south, east, north) or location")
    m = folium.Map(location=center, zoom_start=zoom_start, tiles=tiles, max_zoom=max_zoom, **kwargs)
    m.options["max_zoom"] = max_zoom
    figure = OfflineFigure(asset_url_prefix=asset_url_prefix, title=title, lang=lang)
    figure.add_child(m)
    if bounds_wgs84 is not None:
        m.fit_bounds([[south, west], [north, east]])
    figure.header.add_child(
        Element(f"<style>html body .leaflet-container{{background:{_BACKGROUND};}}</style>"),
        name="villenum_background",
    )
    extra = [attribution] if isinstance(attribution, str) else list(attribution or [])
    m.add_child(_Attribution([OSM_ATTRIBUTION, *extra]))
    return m


def _check_bounds(bounds: Sequence[float]) -> tuple[float, float, float, float]:
    if len(bounds) != 4:
        raise MapError(f"bounds_wgs84 must be (west, south, east, north), got {bounds!r}")
    west, south, east, north = (float(v) for v in bounds)
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise MapError(
            f"bounds_wgs84 {tuple(bounds)!r} are not (west, south, east, north) in degrees "
            "(projected coordinates? reproject with villenum.data.to_wgs84 first)"
        )
    return west, south, east, north


def _check_location(location: Sequence[float]) -> tuple[float, float]:
    if len(location) != 2:
        raise MapError(f"location must be (latitude, longitude), got {location!r}")
    lat, lon = (float(v) for v in location)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise MapError(f"location {tuple(location)!r} is not (latitude, longitude) in degrees")
    return lat, lon


def _offline_figure(m: folium.Map) -> OfflineFigure:
    """Return the map's OfflineFigure, moving a plain folium map into one if needed."""
    figure = m.get_root()
    if isinstance(figure, OfflineFigure):
        return figure
    offline = OfflineFigure()
    offline.add_child(m)
    return offline


def render_map(m: folium.Map) -> str:
    """Return the map's full HTML page with local assets (inlined unless a URL prefix is set).

    Parameters
    ----------
    m
        A map from :func:`offline_map` (a plain ``folium.Map`` is adopted too).

    Returns
    -------
    str
        The HTML document.
    """
    return _offline_figure(m).render()


def save_map(m: folium.Map, path: str | os.PathLike[str]) -> Path:
    """Write the map as an HTML file plus a sibling folder of the assets it uses.

    ``city.html`` gets ``city_files/`` (Leaflet, plugins, their images and fonts) linked by
    relative URLs, so the page works opened from disk or served by any web server; move the
    two together. The HTML file is replaced atomically.

    Parameters
    ----------
    m
        A map from :func:`offline_map` (a plain ``folium.Map`` is adopted too).
    path
        The HTML file to write; missing parent folders are created.

    Returns
    -------
    pathlib.Path
        The path of the HTML file.

    Raises
    ------
    MapError
        If the file or its asset folder cannot be written.
    """
    path = Path(path)
    assets_name = f"{path.stem}_files"
    figure = _offline_figure(m)
    figure._relative_base = quote(assets_name)
    try:
        html = figure.render()
    finally:
        figure._relative_base = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _assets.copy_assets(figure.used_assets, path.parent / assets_name)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(html)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise MapError(f"cannot write map {path}: {exc.strerror or exc}") from None
    return path


def asset_blueprint(name: str = "villenum_maps") -> Blueprint:
    """A Flask blueprint serving the map assets, for maps made with ``asset_url_prefix``.

    Register it under the same prefix as the maps use::

        app.register_blueprint(asset_blueprint(), url_prefix=DEFAULT_ASSET_PREFIX)
        m = offline_map(bounds_wgs84=..., asset_url_prefix=DEFAULT_ASSET_PREFIX)

    Only the shipped asset files are served (anything else is a 404); they are cacheable
    for a day.

    Parameters
    ----------
    name
        The blueprint name (change it to register the blueprint twice).

    Returns
    -------
    flask.Blueprint
        The blueprint, with one route ``/<path:asset>``.
    """
    from flask import Blueprint, abort, send_file

    allowed = frozenset(_assets.all_assets())
    blueprint = Blueprint(name, __name__)

    @blueprint.get("/<path:asset>")
    def serve(asset: str) -> Any:
        if asset not in allowed:
            abort(404)
        return send_file(_assets.source_path(asset), max_age=86400)

    return blueprint
