"""The hotspot health map: every hotspot coloured by state, clustered by zone, with history.

Built from the monitor's database (:mod:`villenum.hotspots.store`). Each hotspot is a marker
whose colour, shape and symbol say its state (:data:`villenum.maps.layers.HOTSPOT_STATES`:
colour-blind safe, and never colour alone) with its score inside; markers are clustered per
zone, and a cluster takes the colour of its worst hotspot, so a ``down`` hotspot is never
hidden in a green cluster. A popup gives the state, reason, score, last values, uplink
throughput, a 24-hour score sparkline and the last state changes. Streets, buildings and
zones of the city model are drawn as vector layers, so the map is readable with no tiles and
no internet.

The markers are drawn in the browser from JSON: a saved map (:func:`write_health_map`)
carries a snapshot and reloads itself every ``refresh_s`` seconds (regenerate it from cron or
the monitor); the admin web app's live map fetches fresh JSON instead
(:func:`health_map` with ``live_url``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import MarkerCluster
from folium.template import Template

from villenum.errors import MapError, MonitorError
from villenum.maps import layers
from villenum.maps._elements import LEGEND_CSS, dumps_for_script
from villenum.maps.offline import offline_map, save_map

if TYPE_CHECKING:
    from villenum.data import City
    from villenum.hotspots.store import Store

_STATE_ORDER = ("down", "degraded", "unknown", "up")  # worst first: the cluster's colour
_SHAPE_SVG = {
    "circle": '<circle cx="11" cy="11" r="9.5"/>',
    "triangle": '<path d="M11 1 21.5 20.5H.5z"/>',
    "square": '<rect x="1.5" y="1.5" width="19" height="19" rx="2"/>',
    "diamond": '<path d="M11 .5 21.5 11 11 21.5.5 11z"/>',
}


def health_data(store: Store, hours: float = 24.0, points: int = 48) -> dict[str, Any]:
    """The JSON the health map draws: statuses with a short history and recent events.

    Parameters
    ----------
    store
        The monitor's database.
    hours
        How far back the sparkline goes.
    points
        At most this many history points per hotspot (evenly thinned).

    Returns
    -------
    dict
        ``{"generated": unix time, "hotspots": [status + "history" + "events", ...]}``;
        ``history`` is ``[[time, score, state], ...]`` oldest first.
    """
    since = time.time() - hours * 3600
    statuses = store.statuses()
    inventory = store.hotspots()
    seen = {s["id"] for s in statuses}
    for hotspot_id, h in inventory.items():  # in the inventory but never polled yet
        if hotspot_id not in seen:
            statuses.append({
                "id": hotspot_id, "name": h["name"], "zone": h.get("zone"), "lat": h["lat"],
                "lon": h["lon"], "state": "unknown", "reason": "not polled yet", "score": 0,
                "flapping": False, "since": None, "last_poll": None, "metrics": {}, "rates": {},
            })  # fmt: skip
    for status in statuses:
        rows = store.history(status["id"], since, ("score",))
        step = max(1, math.ceil(len(rows) / points))
        status["history"] = [[r["ts"], r["score"], r["state"]] for r in rows[::step]]
        status["events"] = store.events(limit=3, hotspot_id=status["id"])
    return {"generated": time.time(), "hotspots": statuses}


class _HealthMarkers(JSCSSMixin, MacroElement):
    """Markers drawn in the browser from the health JSON, clustered per zone."""

    default_js = MarkerCluster.default_js
    default_css = MarkerCluster.default_css
    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .vn-hs{background:none;border:none}
        .vn-hs svg{filter:drop-shadow(0 1px 1px rgba(0,0,0,.5))}
        .vn-hs.vn-flap svg{outline:2px dashed #000;outline-offset:1px}
        .vn-cluster{border-radius:50%;color:#fff;font:bold 13px/34px system-ui,sans-serif;
          text-align:center;border:2px solid #fff;box-shadow:0 1px 4px rgba(0,0,0,.5)}
        .vn-pop{font:12px/1.4 system-ui,sans-serif;min-width:15em}
        .vn-pop h4{margin:0 0 4px;font-size:14px}
        .vn-pop table{border-collapse:collapse}.vn-pop td{padding:0 6px 0 0;vertical-align:top}
        .vn-pop .vn-ev{color:#444;margin:0;padding-left:1.1em}
        .vn-status{font:12px/1.4 system-ui,sans-serif}
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var STATES = {{ this.states_json }}, ORDER = {{ this.order_json }};
            var SHAPES = {{ this.shapes_json }};
            var LIVE = {{ this.live_json }}, REFRESH_MS = {{ this.refresh_ms }};
            var groups = {}, statusBox = null;
            function esc(v) {
                return String(v === null || v === undefined ? "–" : v).replace(/[&<>"']/g,
                    function (c) { return {"&": "&amp;", "<": "&lt;", ">": "&gt;",
                                           '"': "&quot;", "'": "&#39;"}[c]; });
            }
            function st(h) { return STATES[h.state] ? h.state : "unknown"; }
            function svg(state, text, size, id) {
                var s = STATES[state];
                return '<svg xmlns="http://www.w3.org/2000/svg" width="' + size + '" height="' +
                    size + '" data-hotspot="' + esc(id || "") + '" data-state="' + state + '"' +
                    ' viewBox="0 0 22 22" role="img" aria-label="' + esc(s[3]) + '">' +
                    '<g class="vn-shape" fill="' + s[0] + '" stroke="#fff" stroke-width="1.2">' +
                    SHAPES[s[1]] + '</g><text x="11" y="' + (s[1] === "triangle" ? 16 : 14.5) +
                    '" text-anchor="middle" font-size="' + (text.length > 2 ? 7.5 : 9) +
                    '" font-weight="bold" font-family="sans-serif" fill="#fff">' + esc(text) +
                    '</text></svg>';
            }
            function when(t) {
                if (!t) { return "–"; }
                var d = new Date(t * 1000);
                return d.toLocaleString();
            }
            function num(v, unit, digits) {
                if (v === null || v === undefined) { return "–"; }
                return Number(v).toFixed(digits === undefined ? 0 : digits) + (unit || "");
            }
            function mbps(v) { return v === null || v === undefined ? "–" :
                                      (v / 1e6).toFixed(2) + " Mbit/s"; }
            function spark(history) {
                if (!history || history.length < 2) { return ""; }
                var t0 = history[0][0], t1 = history[history.length - 1][0] || t0 + 1;
                var pts = history.map(function (p) {
                    return ((p[0] - t0) / Math.max(1, t1 - t0) * 180).toFixed(1) + "," +
                           (32 - p[1] / 100 * 30).toFixed(1);
                }).join(" ");
                return '<div>Score, last 24 h:</div><svg width="184" height="36" ' +
                    'class="vn-spark"><rect width="184" height="36" fill="#f4f4f4"/>' +
                    '<polyline fill="none" stroke="#0072B2" stroke-width="1.5" points="' +
                    pts + '"/></svg>';
            }
            function popup(h) {
                var m = h.metrics || {}, r = h.rates || {};
                var rows = [
                    ["State", "<b>" + esc(STATES[st(h)][3]) + "</b>" +
                              (h.flapping ? " (flapping)" : "") + ", since " + esc(when(h.since))],
                    ["Why", esc(h.reason)],
                    ["Score", esc(h.score) + " / 100"],
                    ["Last poll", esc(when(h.last_poll))],
                    ["Clients", esc(num(m.clients)) + " / " + esc(m.max_clients)],
                    ["Uplink", esc(m.uplink_if) + (m.uplink_up === false ? " (down)" : "") +
                               ": ↓ " + esc(mbps(r.uplink_in_bps)) + " ↑ " +
                               esc(mbps(r.uplink_out_bps))],
                    ["CPU / memory", esc(num(m.cpu_pct, " %")) + " / " + esc(num(m.mem_pct, " %"))],
                    ["Channel use", esc(num(m.channel_util_pct, " %")) + ", noise " +
                                    esc(num(m.noise_dbm, " dBm"))]
                ];
                var ev = (h.events || []).map(function (e) {
                    return "<li>" + esc(when(e.ts)) + ": " + esc(e.old) + " → " + esc(e.new) +
                           " (" + esc(e.reason) + ")</li>";
                }).join("");
                return '<div class="vn-pop"><h4>' + esc(h.name) + '</h4><table>' +
                    rows.map(function (x) { return "<tr><td>" + x[0] + "</td><td>" + x[1] +
                                                   "</td></tr>"; }).join("") +
                    "</table>" + spark(h.history) +
                    (ev ? '<div>Recent changes:</div><ul class="vn-ev">' + ev + "</ul>" : "") +
                    "</div>";
            }
            function clusterIcon(cluster) {
                var worst = "up";
                cluster.getAllChildMarkers().forEach(function (mk) {
                    if (ORDER.indexOf(mk.options.vnState) < ORDER.indexOf(worst)) {
                        worst = mk.options.vnState;
                    }
                });
                return L.divIcon({
                    html: '<div class="vn-cluster vn-cluster-' + worst + '" style="background:' +
                          STATES[worst][0] + '">' + cluster.getChildCount() + "</div>",
                    className: "vn-hs", iconSize: [36, 36]
                });
            }
            function draw(data) {
                Object.keys(groups).forEach(function (z) { groups[z].clearLayers(); });
                var counts = {};
                (data.hotspots || []).forEach(function (h) {
                    if (typeof h.lat !== "number" || typeof h.lon !== "number") { return; }
                    var state = st(h), zone = h.zone || "(no zone)";
                    counts[state] = (counts[state] || 0) + 1;
                    if (!groups[zone]) {
                        groups[zone] = L.markerClusterGroup({
                            iconCreateFunction: clusterIcon, maxClusterRadius: 40,
                            disableClusteringAtZoom: 18
                        }).addTo(map);
                    }
                    var icon = L.divIcon({
                        html: svg(state, String(h.score), 26, h.id),
                        className: "vn-hs vn-hs-" + state + (h.flapping ? " vn-flap" : ""),
                        iconSize: [26, 26], iconAnchor: [13, 13], popupAnchor: [0, -12]
                    });
                    var mk = L.marker([h.lat, h.lon], {
                        icon: icon, title: h.name + " – " + STATES[state][3], vnState: state,
                        riseOnHover: true, zIndexOffset: 100 * (4 - ORDER.indexOf(state))
                    }).bindPopup(popup(h), {maxWidth: 320});
                    groups[zone].addLayer(mk);
                });
                if (statusBox) {
                    statusBox.innerHTML = ORDER.map(function (s) {
                        return counts[s] ? svg(s, String(counts[s]), 18) + " " +
                                           esc(STATES[s][3]) : "";
                    }).filter(Boolean).join(" &nbsp;") + "<br>Updated " +
                        esc(when(data.generated));
                }
            }
            var box = L.control({position: "topright"});
            box.onAdd = function () {
                statusBox = L.DomUtil.create("div", "vn-legend vn-status");
                return statusBox;
            };
            box.addTo(map);
            draw({{ this.data_json }});
            if (LIVE) {
                setInterval(function () {
                    fetch(LIVE, {credentials: "same-origin", cache: "no-store"})
                        .then(function (r) { if (!r.ok) { throw new Error(r.status); }
                                             return r.json(); })
                        .then(draw)
                        .catch(function (e) {
                            statusBox.innerHTML += "<br><b>Refresh failed: " + esc(e) + "</b>";
                        });
                }, REFRESH_MS);
            } else if (REFRESH_MS > 0) {
                setTimeout(function () { window.location.reload(); }, REFRESH_MS);
            }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, data: dict[str, Any], live_url: str | None, refresh_s: float) -> None:
        super().__init__()
        self._name = "HealthMarkers"
        states = {k: list(v) for k, v in layers.HOTSPOT_STATES.items()}
        self.states_json = dumps_for_script(states)
        self.order_json = dumps_for_script(list(_STATE_ORDER))
        self.shapes_json = dumps_for_script(_SHAPE_SVG)
        self.live_json = dumps_for_script(live_url)
        self.refresh_ms = int(max(0.0, refresh_s) * 1000)
        self.data_json = dumps_for_script(_finite(data))


def _finite(value: Any) -> Any:
    """NaN and infinities become ``null``: JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def health_map(
    data: dict[str, Any],
    *,
    city: City | None = None,
    live_url: str | None = None,
    refresh_s: float = 60.0,
    asset_url_prefix: str | None = None,
) -> folium.Map:
    """Build the health map.

    Parameters
    ----------
    data
        From :func:`health_data`.
    city
        City model drawn underneath (zones, buildings, streets); ``None`` for none.
    live_url
        URL of :func:`health_data` JSON the page refetches every ``refresh_s`` (admin app);
        ``None``: the page reloads itself instead.
    refresh_s
        Refresh period in seconds (0: never).
    asset_url_prefix
        See :func:`villenum.maps.offline.offline_map`.

    Returns
    -------
    folium.Map

    Raises
    ------
    MapError
        If no hotspot has a position and there is no city to frame the map.
    """
    points = [(h["lon"], h["lat"]) for h in data["hotspots"] if h.get("lat") is not None]
    if points:
        lons, lats = zip(*points, strict=True)
        pad = 0.002  # ~200 m, so markers on the edge are not cut
        bounds: Sequence[float] = (
            min(lons) - pad,
            min(lats) - pad,
            max(lons) + pad,
            max(lats) + pad,
        )
    elif city is not None:
        bounds = layers.wgs84_bounds(city.boundary)
    else:
        raise MapError("no hotspot to map: the monitor database lists none")
    m = offline_map(bounds_wgs84=bounds, asset_url_prefix=asset_url_prefix, max_zoom=19)
    if city is not None:
        layers.add_zones(m, city.zones, name="Zones", show=True, tooltip_columns=["name"])
        layers.add_buildings(m, city.buildings, name="Buildings", show=True)
        layers.add_streets(m, city.streets, name="Streets", show=True)
    m.get_root().header.add_child(folium.Element(LEGEND_CSS), name="vn_legend_css")
    m.add_child(_HealthMarkers(data, live_url, refresh_s))
    entries = [(v[3], v[0], v[1], v[2]) for k, v in layers.HOTSPOT_STATES.items()]
    entries.append(("flapping (dashed outline)", "#000000", "dash"))
    layers.add_legend(m, "Hotspot health (number = score /100)", entries)
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def write_health_map(
    db_path: str | Path,
    out_path: str | Path,
    inventory_path: str | Path | None = None,
    *,
    city: City | str | None = "auto",
    refresh_s: float = 60.0,
) -> Path:
    """Write the health map of a monitor database as an offline HTML page.

    Parameters
    ----------
    db_path
        The monitor's SQLite database (``villenum monitor run/poll --db``).
    out_path
        HTML file to write (its assets go to a sibling ``*_files`` folder).
    inventory_path
        Optional inventory TOML: hotspots in it but never polled are shown as ``unknown``,
        and positions/names come from it.
    city
        A city model, a city name for :func:`villenum.data.load_city`, ``None`` for no
        background, or ``"auto"``: Biarritz if the hotspots lie in it.
    refresh_s
        The page reloads itself this often (0: never).

    Returns
    -------
    pathlib.Path
        The HTML file written.

    Raises
    ------
    MonitorError
        If the database is missing or not a monitor database.
    InventoryError
        If the inventory is invalid.
    MapError
        If there is nothing to map or the file cannot be written.
    """
    from villenum.hotspots.store import Store

    with Store(db_path, readonly=True) as store:
        data = health_data(store)
    if inventory_path is not None:
        _merge_inventory(data, inventory_path)
    if not data["hotspots"]:
        raise MonitorError(f"{db_path} holds no hotspot: run 'villenum monitor poll' first")
    model = resolve_city(city, data)
    m = health_map(data, city=model, refresh_s=refresh_s)
    return save_map(m, out_path)


def _merge_inventory(data: dict[str, Any], inventory_path: str | Path) -> None:
    from villenum.hotspots.inventory import load_inventory

    by_id = {h["id"]: h for h in data["hotspots"]}
    for hotspot in load_inventory(inventory_path):
        status = by_id.get(hotspot.id)
        if status is None:
            data["hotspots"].append({
                "id": hotspot.id, "name": hotspot.name, "zone": hotspot.zone,
                "lat": hotspot.lat, "lon": hotspot.lon, "state": "unknown",
                "reason": "not polled yet" if hotspot.deployed else "not-deployed",
                "score": 0, "flapping": False, "since": None, "last_poll": None,
                "metrics": {}, "rates": {}, "history": [], "events": [],
            })  # fmt: skip
        else:
            status.update(name=hotspot.name, zone=hotspot.zone, lat=hotspot.lat, lon=hotspot.lon)


def resolve_city(city: City | str | None, data: dict[str, Any]) -> City | None:
    """The city model to draw under the hotspots (see ``write_health_map``'s ``city``)."""
    if city is None or not isinstance(city, str):
        return city
    from villenum.data import load_city

    if city != "auto":
        return load_city(city)
    # Biarritz's bounding box (WGS 84): only then is its model worth drawing underneath
    inside = [
        h for h in data["hotspots"]
        if h.get("lat") is not None and 43.43 <= h["lat"] <= 43.51 and -1.59 <= h["lon"] <= -1.52
    ]  # fmt: skip
    return load_city("biarritz") if inside else None
