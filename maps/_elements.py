"""Leaflet elements behind :mod:`villenum.maps.layers`: a compact GeoJSON layer and legends.

folium's ``GeoJson`` writes a ``switch`` over every feature id to style features and runs a
Python callback per feature; with 14 000 buildings that doubles the page and the build time.
:class:`GeoJsonLayer` instead ships a small style table indexed by one feature property
and the tooltip texts as plain values that the browser escapes and lays out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from folium.template import Template

LEGEND_CSS = (
    "<style>.vn-legend{background:rgba(255,255,255,.92);padding:6px 9px;border-radius:4px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.35);font:12px/1.35 system-ui,sans-serif;color:#222;"
    "max-width:16em}.vn-legend b{display:block;margin-bottom:3px}"
    ".vn-legend div{display:flex;align-items:center;gap:6px;margin:2px 0}"
    ".vn-legend .vn-bar{height:10px;width:12em;border:1px solid #777;display:block}"
    ".vn-legend .vn-ends{display:flex;justify-content:space-between;width:12em;margin:0}"
    ".vn-marker{background:none;border:none}</style>"
)


def dumps_for_script(value: Any) -> str:
    """JSON for a ``<script>`` element: ``<``, ``>`` and ``&`` escaped as in Jinja's tojson."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class GeoJsonLayer(Layer):
    """A GeoJSON overlay styled from a table, with per-feature tooltips built in the browser.

    The page carries parallel arrays (geometries, style indices, tooltip values) rather than
    GeoJSON Features, and the tooltip labels once per layer: about half the size.

    Parameters
    ----------
    geometries
        GeoJSON geometry dicts in WGS 84.
    styles
        Leaflet path options (``color``, ``weight``, ``fillColor``...), one per style index.
    name
        The name in the layer control.
    style_index
        Index into ``styles`` per geometry (``None``: all use ``styles[0]``).
    tooltip_fields
        Labels of the tooltip lines; the first one is ``""`` for a bold title line.
    tooltip_values
        Per geometry, one text (or ``None`` to skip the line) per tooltip field.
    icons
        If given, points are drawn as markers whose ``L.divIcon`` HTML is ``icons[s]`` (size
        ``icon_size`` px); otherwise points are circle markers of ``radius`` px.
    show
        Whether the layer is on when the map opens.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var styles = {{ this.styles_json }}, icons = {{ this.icons_json }};
            var fields = {{ this.fields_json }}, d = {{ this.data_json }};
            function esc(v) {
                return String(v).replace(/[&<>"]/g, function (c) {
                    return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c];
                });
            }
            function tip(values) {
                var lines = [];
                values.forEach(function (v, j) {
                    if (v === null) { return; }
                    lines.push(fields[j] ? esc(fields[j]) + ": " + esc(v)
                                         : "<b>" + esc(v) + "</b>");
                });
                return lines.join("<br>");
            }
            var features = d.g.map(function (g, i) {
                return {type: "Feature", geometry: g,
                        properties: {s: d.s ? d.s[i] : 0, p: d.p ? d.p[i] : null}};
            });
            return L.geoJson(features, {
                style: function (f) { return styles[f.properties.s]; },
                pointToLayer: function (f, latlng) {
                    var s = f.properties.s;
                    if (icons) {
                        return L.marker(latlng, {icon: L.divIcon({
                            html: icons[s], className: "vn-marker",
                            iconSize: [{{ this.icon_size }}, {{ this.icon_size }}]}),
                            keyboard: false});
                    }
                    return L.circleMarker(latlng,
                        Object.assign({radius: {{ this.radius }}}, styles[s]));
                },
                onEachFeature: function (f, layer) {
                    if (f.properties.p) { layer.bindTooltip(tip(f.properties.p), {sticky: true}); }
                }
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        geometries: list[dict[str, Any]],
        styles: Sequence[dict[str, Any]],
        name: str,
        *,
        style_index: Sequence[int] | None = None,
        tooltip_fields: Sequence[str] = (),
        tooltip_values: Sequence[Sequence[str | None]] | None = None,
        icons: Sequence[str] | None = None,
        icon_size: int = 22,
        radius: float = 6,
        show: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GeoJsonLayer"
        data: dict[str, Any] = {"g": geometries}
        if style_index is not None and any(style_index):
            data["s"] = [int(i) for i in style_index]
        if tooltip_values is not None and tooltip_fields:
            data["p"] = [list(v) if any(x is not None for x in v) else None for v in tooltip_values]
        self.data_json = dumps_for_script(data)
        self.styles_json = dumps_for_script(list(styles))
        self.fields_json = dumps_for_script(list(tooltip_fields))
        self.icons_json = dumps_for_script(list(icons) if icons is not None else None)
        self.icon_size = int(icon_size)
        self.radius = float(radius)
        self.feature_count = len(geometries)

    def render(self, **kwargs: Any) -> None:
        """Add the shared marker CSS to the page, then render as a folium Layer."""
        _add_legend_css(self)
        super().render(**kwargs)


class Legend(MacroElement):
    """A Leaflet control holding legend HTML (already escaped by the caller).

    Parameters
    ----------
    html
        The inner HTML of the legend box.
    position
        Leaflet control position (``"bottomright"``, ``"topright"``...).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: {{ this.position|tojson }}});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "vn-legend leaflet-control");
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html: str, position: str = "bottomright") -> None:
        super().__init__()
        self._name = "Legend"
        self.html = html
        self.position = position

    def render(self, **kwargs: Any) -> None:
        """Add the legend CSS to the page, then render the control's script."""
        _add_legend_css(self)
        super().render(**kwargs)


def _add_legend_css(element: Element) -> None:
    figure = element.get_root()
    if isinstance(figure, Figure):
        figure.header.add_child(Element(LEGEND_CSS), name="villenum_legend_css")
