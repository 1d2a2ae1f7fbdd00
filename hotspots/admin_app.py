"""The monitor's admin web app: live health map, JSON API and Prometheus ``/metrics``.

A Flask blueprint reading the monitor's database (WAL: it reads while the monitor writes).
Routes:

``/`` and ``/map``
    The live health map (:mod:`villenum.maps.health`); it refetches ``/api/map-data``.
``/api/hotspots``
    ``{"hotspots": [status, ...]}``, the format of ``villenum monitor poll --json``.
``/api/hotspots/<id>``
    One status with its raw history (``?hours=24``) and recent events.
``/api/map-data``
    Statuses with a short history, for the map.
``/api/events``
    Recent state changes (``?limit=100``).
``/metrics``
    Prometheus text format: ``villenum_hotspot_up``, ``villenum_hotspot_state``,
    ``villenum_hotspot_score``, ``villenum_hotspot_uplink_bits_per_second``,
    ``villenum_hotspot_clients``, ... labelled by ``hotspot`` and ``zone``.
``/healthz``
    Liveness (no authentication), with the age of the last poll.

Authentication: when ``MONITOR_TOKEN`` is set, every route but ``/healthz`` needs it, as an
``Authorization: Bearer`` header (Prometheus' ``authorization`` setting), HTTP basic auth
(any user name, the token as password: browsers prompt for it), or ``?token=`` once, which
sets a session cookie for the map's own requests.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, request

from villenum.errors import MonitorError

bp = Blueprint("monitor_admin", __name__)
_COOKIE = "villenum_monitor"
_STATE_VALUES = ("up", "degraded", "down", "unknown")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Application factory.

    Parameters
    ----------
    config
        ``MONITOR_DB`` (path of the monitor database, required), ``MONITOR_TOKEN`` (optional
        secret), ``MONITOR_REFRESH_S`` (map refresh period, default 30), ``MONITOR_CITY``
        (city drawn under the map: a ``City``, a name, ``"auto"`` (default) or ``None``).

    Returns
    -------
    flask.Flask

    Raises
    ------
    MonitorError
        If ``MONITOR_DB`` is missing.
    """
    from villenum.maps.offline import DEFAULT_ASSET_PREFIX, asset_blueprint

    app = Flask(__name__)
    app.config.update(MONITOR_TOKEN=None, MONITOR_REFRESH_S=30, MONITOR_CITY="auto")
    app.config.update(config or {})
    if not app.config.get("MONITOR_DB"):
        raise MonitorError("the admin app needs MONITOR_DB, the monitor database path")
    app.register_blueprint(bp)
    app.register_blueprint(asset_blueprint(), url_prefix=DEFAULT_ASSET_PREFIX)
    cache: dict[str, Any] = {"lock": threading.Lock(), "html": None, "key": None, "city": None}
    app.extensions["villenum_map_cache"] = cache
    city = app.config["MONITOR_CITY"]
    if isinstance(city, str):
        # loading a city model takes seconds: do it aside, the map shows the city once ready
        cache["city_ready"] = threading.Event()
        threading.Thread(
            target=_load_city, args=(app.config["MONITOR_DB"], city, cache), daemon=True
        ).start()
    else:
        cache["city"] = city
    return app


def _load_city(db_path: str, city: str, cache: dict[str, Any]) -> None:
    import logging

    from villenum.errors import VillenumError
    from villenum.hotspots.store import Store
    from villenum.maps.health import resolve_city

    try:
        with Store(db_path, readonly=True) as store:
            hotspots = list(store.hotspots().values())
        cache["city"] = resolve_city(city, {"hotspots": hotspots})
    except VillenumError as exc:
        logging.getLogger("villenum.monitor").warning("map without city layers: %s", exc)
    finally:
        cache["city_ready"].set()


def _store() -> Any:
    from villenum.hotspots.store import Store

    if "monitor_store" not in g:
        try:
            g.monitor_store = Store(current_app.config["MONITOR_DB"], readonly=True)
        except MonitorError as exc:
            abort(Response(f"{exc}\n", 503, mimetype="text/plain"))
    return g.monitor_store


@bp.teardown_app_request
def _close_store(_exc: BaseException | None) -> None:
    store = g.pop("monitor_store", None)
    if store is not None:
        store.close()


@bp.before_app_request
def _authenticate() -> Response | None:
    token = current_app.config.get("MONITOR_TOKEN")
    if not token or request.endpoint in ("monitor_admin.healthz", None):
        return None
    given = []
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        given.append(header[7:])
    if request.authorization is not None and request.authorization.password:
        given.append(request.authorization.password)
    given += [request.cookies.get(_COOKIE, ""), request.args.get("token", "")]
    if not any(hmac.compare_digest(t.encode(), token.encode()) for t in given if t):
        return Response(
            "authentication required\n", 401, {"WWW-Authenticate": 'Basic realm="villenum monitor"'}
        )
    g.set_cookie = request.args.get("token") == token
    return None


@bp.after_app_request
def _remember(response: Response) -> Response:
    if g.get("set_cookie"):
        response.set_cookie(
            _COOKIE, current_app.config["MONITOR_TOKEN"], httponly=True, samesite="Strict"
        )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


@bp.get("/healthz")
def healthz() -> Any:
    statuses = _store().statuses()
    last = max((s["last_poll"] or 0 for s in statuses), default=None)
    return jsonify(ok=True, hotspots=len(statuses), last_poll_age_s=last and time.time() - last)


@bp.get("/api/hotspots")
def api_hotspots() -> Any:
    return jsonify(hotspots=_store().statuses())


@bp.get("/api/hotspots/<hotspot_id>")
def api_hotspot(hotspot_id: str) -> Any:
    store = _store()
    status = next((s for s in store.statuses() if s["id"] == hotspot_id), None)
    if status is None:
        abort(404)
    hours = request.args.get("hours", 24.0, type=float)
    since = time.time() - max(0.0, min(hours, 24 * 7)) * 3600
    series = ("score", "in_bps", "out_bps", "clients", "cpu_pct", "error_ratio")
    return jsonify(
        status=status,
        history=store.history(hotspot_id, since, series),
        events=store.events(limit=50, hotspot_id=hotspot_id),
    )


@bp.get("/api/events")
def api_events() -> Any:
    limit = max(1, min(request.args.get("limit", 100, type=int), 1000))
    return jsonify(events=_store().events(limit=limit))


@bp.get("/api/map-data")
def api_map_data() -> Any:
    from villenum.maps.health import health_data

    return jsonify(health_data(_store()))


@bp.get("/")
@bp.get("/map")
def live_map() -> Response:
    from villenum.maps.health import health_data, health_map
    from villenum.maps.offline import DEFAULT_ASSET_PREFIX, render_map

    data = health_data(_store())
    if not data["hotspots"]:
        return Response("no hotspot polled yet: the monitor has not finished a cycle\n", 503,
                        mimetype="text/plain")  # fmt: skip
    cache = current_app.extensions["villenum_map_cache"]
    city_ready = "city_ready" not in cache or cache["city_ready"].is_set()
    key = (
        city_ready,
        *sorted((h["id"], h["lat"], h["lon"], h.get("zone")) for h in data["hotspots"]),
    )
    with cache["lock"]:
        city = cache["city"] if city_ready else None
        # the markers refresh themselves from JSON; the page is only rebuilt when the
        # inventory changes (or the city is ready), not re-serialised every visit
        if cache["key"] != key:
            m = health_map(
                data, city=city, live_url="api/map-data",
                refresh_s=float(current_app.config["MONITOR_REFRESH_S"]),
                asset_url_prefix=DEFAULT_ASSET_PREFIX,
            )  # fmt: skip
            cache["html"], cache["key"] = render_map(m), key
        page = cache["html"]
    return Response(page, mimetype="text/html")


@bp.get("/metrics")
def metrics() -> Response:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily

    statuses = _store().statuses()

    class _Collector:
        def collect(self) -> Iterator[GaugeMetricFamily]:
            yield from _metric_families(statuses, GaugeMetricFamily)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector())
    return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4; charset=utf-8")


def _metric_families(statuses: list[dict[str, Any]], gauge: Any) -> Iterator[Any]:
    labels = ["hotspot", "zone"]
    up = gauge("villenum_hotspot_up", "1 if the last SNMP poll answered", labels=labels)
    state = gauge("villenum_hotspot_state", "1 for the hotspot's current state",
                  labels=[*labels, "state"])  # fmt: skip
    score = gauge("villenum_hotspot_score", "health score 0-100", labels=labels)
    flapping = gauge("villenum_hotspot_flapping", "1 while flapping", labels=labels)
    last = gauge("villenum_hotspot_last_poll_timestamp_seconds", "time of the last poll",
                 labels=labels)  # fmt: skip
    bps = gauge("villenum_hotspot_uplink_bits_per_second", "uplink throughput",
                labels=[*labels, "direction"])  # fmt: skip
    simple = {
        "clients": gauge("villenum_hotspot_clients", "associated Wi-Fi clients", labels=labels),
        "cpu_pct": gauge("villenum_hotspot_cpu_percent", "CPU busy", labels=labels),
        "mem_pct": gauge("villenum_hotspot_memory_percent", "memory used", labels=labels),
        "channel_util_pct": gauge("villenum_hotspot_channel_utilisation_percent",
                                  "radio channel busy time", labels=labels),
        "noise_dbm": gauge("villenum_hotspot_noise_dbm", "noise floor", labels=labels),
        "uptime_s": gauge("villenum_hotspot_uptime_seconds", "agent sysUpTime", labels=labels),
    }  # fmt: skip
    errors = gauge("villenum_hotspot_uplink_error_ratio", "errored packet ratio", labels=labels)
    for s in statuses:
        lv = [s["id"], s.get("zone") or ""]
        metrics, rates = s.get("metrics", {}), s.get("rates", {})
        up.add_metric(lv, 1.0 if metrics.get("reason_code") == "ok" else 0.0)
        for value in _STATE_VALUES:
            state.add_metric([*lv, value], 1.0 if s["state"] == value else 0.0)
        score.add_metric(lv, float(s["score"]))
        flapping.add_metric(lv, 1.0 if s.get("flapping") else 0.0)
        if s.get("last_poll") is not None:
            last.add_metric(lv, float(s["last_poll"]))
        for direction in ("in", "out"):
            value = rates.get(f"uplink_{direction}_bps")
            if value is not None:
                bps.add_metric([*lv, direction], float(value))
        for key, family in simple.items():
            if metrics.get(key) is not None:
                family.add_metric(lv, float(metrics[key]))
        if rates.get("error_ratio") is not None:
            errors.add_metric(lv, float(rates["error_ratio"]))
    yield from (up, state, score, flapping, last, bps, *simple.values(), errors)


class _ServerThread(threading.Thread):
    def __init__(self, app: Flask, host: str, port: int) -> None:
        from werkzeug.serving import make_server

        super().__init__(name="villenum-admin", daemon=True)
        try:
            self.server = make_server(host, port, app, threaded=True)
        except OSError as exc:
            raise MonitorError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    def run(self) -> None:
        self.server.serve_forever()

    def shutdown(self) -> None:
        self.server.shutdown()


def serve_in_thread(config: dict[str, Any], host: str, port: int) -> _ServerThread:
    """Serve the admin app from a background thread (``.shutdown()`` stops it).

    Raises
    ------
    MonitorError
        If the address cannot be bound.
    """
    thread = _ServerThread(create_app(config), host, port)
    thread.start()
    return thread
