"""Offline folium maps: every asset is local, in headless Chromium, from disk, HTTP and Flask."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import folium
import pytest
from folium.plugins import MarkerCluster

from villenum.errors import MapError
from villenum.maps.offline import (
    DEFAULT_ASSET_PREFIX,
    asset_blueprint,
    offline_map,
    render_map,
    save_map,
)

BOUNDS = (-1.575, 43.455, -1.535, 43.495)  # Biarritz, (west, south, east, north)


def _demo_map(**kwargs: Any) -> folium.Map:
    """A map using the folium defaults (awesome markers), MarkerCluster and a LayerControl."""
    m = offline_map(bounds_wgs84=BOUNDS, **kwargs)
    cluster = MarkerCluster(name="sites").add_to(m)
    folium.Marker((43.4832, -1.5586), icon=folium.Icon(icon="wifi", prefix="fa")).add_to(cluster)
    folium.Marker((43.4800, -1.5560)).add_to(cluster)
    folium.CircleMarker((43.47, -1.55), radius=5, tooltip="probe").add_to(m)
    folium.LayerControl().add_to(m)
    return m


def _check_page(page: Any) -> None:
    page.wait_for_function("() => window.L && document.querySelector('.leaflet-container')")
    page.wait_for_load_state("load")
    assert "OpenStreetMap contributors" in page.inner_text(".leaflet-control-attribution")
    assert page.locator(".leaflet-control-layers").count() == 1
    # the two markers are clustered: one cluster icon from the vendored MarkerCluster
    assert page.locator(".marker-cluster").count() == 1
    # the vendored Font Awesome font really loads (the "fa" icons of folium.Icon)
    assert page.evaluate(
        "async () => (await document.fonts.load('900 12px \"Font Awesome 6 Free\"'))"
        ".some(f => f.status === 'loaded')"
    )
    assert page.console_errors == []


@pytest.mark.chromium
def test_saved_map_opens_from_disk_without_network(tmp_path: Path, page: Any, offsite: Any) -> None:
    html = save_map(_demo_map(), tmp_path / "out" / "demo map.html")
    assert html == tmp_path / "out" / "demo map.html"
    assert (tmp_path / "out" / "demo map_files" / "leaflet" / "leaflet.js").is_file()
    text = html.read_text(encoding="utf-8")
    assert "cdn" not in text and "bootstrap" not in text
    page.goto(html.as_uri())
    _check_page(page)
    # zooming in opens the cluster: the awesome-marker and Leaflet's default icon images load
    page.evaluate(f"() => {_map_var(text)}.setView([43.4816, -1.5573], 16)")
    page.wait_for_function(
        "() => document.querySelector('div.awesome-marker')"
        " && document.querySelector('img.leaflet-marker-icon')"
        " && !document.querySelector('.marker-cluster')"
    )
    page.wait_for_load_state("networkidle")
    assert any(u.endswith("marker-icon.png") for u in page.requested_urls)
    assert any("markers-soft" in u for u in page.requested_urls)
    assert offsite(page.requested_urls) == []
    assert page.console_errors == []


@pytest.mark.chromium
def test_saved_map_served_over_http(
    tmp_path: Path, page: Any, serve_dir: Any, offsite: Any
) -> None:
    save_map(_demo_map(), tmp_path / "city.html")
    base = serve_dir(tmp_path)
    page.goto(f"{base}/city.html")
    _check_page(page)
    assert offsite(page.requested_urls, base.removeprefix("http://")) == []


@pytest.mark.chromium
def test_inline_render_is_self_contained(page: Any, offsite: Any) -> None:
    html = render_map(_demo_map())
    page.set_content(html)
    _check_page(page)
    # Leaflet's default marker cannot find its image next to an inlined stylesheet: the page
    # gives it data URIs instead
    page.evaluate(f"() => {_map_var(html)}.setView([43.4816, -1.5573], 16)")
    page.wait_for_function("() => document.querySelector('img.leaflet-marker-icon')")
    src = page.get_attribute("img.leaflet-marker-icon", "src")
    assert src.startswith("data:image/png;base64,")
    assert (
        page.evaluate("() => document.querySelector('img.leaflet-marker-icon').naturalWidth") == 25
    )
    assert offsite(page.requested_urls) == []
    assert page.console_errors == []


@pytest.fixture
def flask_url() -> Iterator[str]:
    """A Flask app serving a live map with the asset blueprint, on 127.0.0.1."""
    from flask import Flask
    from werkzeug.serving import make_server

    app = Flask(__name__)
    app.register_blueprint(asset_blueprint(), url_prefix=DEFAULT_ASSET_PREFIX)

    @app.get("/map")
    def live_map() -> str:
        return render_map(_demo_map(asset_url_prefix=DEFAULT_ASSET_PREFIX))

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.chromium
def test_flask_blueprint_serves_the_assets(flask_url: str, page: Any, offsite: Any) -> None:
    page.goto(f"{flask_url}/map")
    _check_page(page)
    assert any(f"{DEFAULT_ASSET_PREFIX}/leaflet/leaflet.js" in u for u in page.requested_urls)
    assert offsite(page.requested_urls, flask_url.removeprefix("http://")) == []


def test_blueprint_serves_only_shipped_assets() -> None:
    from flask import Flask

    app = Flask(__name__)
    app.register_blueprint(asset_blueprint(), url_prefix="/assets")
    client = app.test_client()
    ok = client.get("/assets/markercluster/leaflet.markercluster.js")
    assert ok.status_code == 200 and b"MarkerClusterGroup" in ok.data
    assert "max-age=86400" in ok.headers["Cache-Control"]
    assert client.get("/assets/leaflet/leaflet.css").status_code == 200
    for bad in (
        "leaflet/leaflet-src.esm.js",
        "../offline.py",
        "markercluster/../README.md",
        "vendor/jquery/jquery.min.js",
    ):
        assert client.get(f"/assets/{bad}").status_code == 404, bad


@pytest.mark.chromium
def test_osm_tiles_keep_one_attribution(page: Any) -> None:
    m = offline_map(location=(43.4832, -1.5586), tiles="OpenStreetMap")
    html = render_map(m)
    assert "tile.openstreetmap.org" in html
    page.route("**/*tile.openstreetmap.org/**", lambda route: route.abort())
    page.set_content(html)
    page.wait_for_selector(".leaflet-control-attribution")
    assert page.inner_text(".leaflet-control-attribution").count("OpenStreetMap") == 1


def test_extra_attribution_is_shown() -> None:
    html = render_map(offline_map(bounds_wgs84=BOUNDS, attribution="ARCEP (Ma connexion internet)"))
    assert "ARCEP (Ma connexion internet)" in html
    assert "OpenStreetMap" in html


def test_unvendored_cdn_plugin_is_refused() -> None:
    m = offline_map(bounds_wgs84=BOUNDS)
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(ValueError, match="no offline copy"):
        render_map(m)


def test_plain_folium_map_is_adopted(tmp_path: Path) -> None:
    m = folium.Map(location=(43.48, -1.55), tiles=None)
    html = save_map(m, tmp_path / "plain.html").read_text(encoding="utf-8")
    assert 'src="plain_files/leaflet/leaflet.js"' in html
    assert "cdn.jsdelivr" not in html and "code.jquery" not in html


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "needs bounds_wgs84"),
        ({"bounds_wgs84": (330_000, 6_275_000, 340_000, 6_285_000)}, "projected coordinates"),
        ({"bounds_wgs84": (-1.5, 43.5, -1.6, 43.4)}, "west, south, east, north"),
        ({"bounds_wgs84": (-1.5, 43.5)}, "must be"),
        ({"location": (6_281_600, 336_400)}, "latitude, longitude"),
        ({"location": (43.48, -1.55), "attribution_control": False}, "OpenStreetMap"),
    ],
)
def test_bad_map_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(MapError, match=match):
        offline_map(**kwargs)


def test_unwritable_output_is_a_map_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(MapError, match="cannot write map"):
        save_map(offline_map(bounds_wgs84=BOUNDS), blocker / "map.html")
    assert blocker.read_text() == "not a folder"


def test_saving_twice_replaces_the_html(tmp_path: Path) -> None:
    path = tmp_path / "m.html"
    save_map(offline_map(bounds_wgs84=BOUNDS, attribution="first"), path)
    save_map(offline_map(bounds_wgs84=BOUNDS, attribution="second"), path)
    text = path.read_text(encoding="utf-8")
    assert "second" in text and "first" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.html", "m_files"]


def _map_var(html: str) -> str:

    match = re.search(r"var (map_[0-9a-f]+) = L\.map", html)
    assert match
    return match.group(1)


def test_notebook_display_is_self_contained() -> None:
    html = _demo_map()._repr_html_()
    assert "srcdoc=" in html
    # everything inlined: no script or stylesheet is fetched at all
    assert "&lt;script src=" not in html and "rel=&quot;stylesheet&quot;" not in html
    assert "L.markerClusterGroup" in html


def test_one_layer_control_the_last_added_rendered_last() -> None:
    m = offline_map(bounds_wgs84=BOUNDS)
    folium.LayerControl(collapsed=False).add_to(m)  # too early: before any layer
    folium.FeatureGroup(name="late layer").add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    folium.CircleMarker((43.47, -1.55)).add_to(m)
    html = render_map(m)
    assert html.count("L.control.layers(") == 1
    assert '"collapsed": true' in html
    assert html.index('"late layer"') < html.index("L.control.layers(")
    assert html.index("L.circleMarker(") < html.index("L.control.layers(")


def test_every_folium_default_is_vendored_or_dropped_and_licensed() -> None:
    from villenum.maps import _assets

    names = {n for n, _ in [*folium.Map.default_js, *folium.Map.default_css]}
    names |= {n for n, _ in [*MarkerCluster.default_js, *MarkerCluster.default_css]}
    assert names <= set(_assets.LINKS)
    for asset in _assets.all_assets():
        assert _assets.source_path(asset).stat().st_size > 0
    for folder in _assets.VENDOR_DIR.iterdir():
        if folder.is_dir():
            assert list(folder.glob("LICENSE*")), f"{folder.name} has no licence file"
