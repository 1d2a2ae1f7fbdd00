"""Map layers: reprojection, styling, legends, raster georeferencing, and what Chromium draws."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from PIL import Image
from pyproj import Transformer
from shapely.geometry import LineString, Point, box

from villenum.errors import MapError
from villenum.maps import layers
from villenum.maps.offline import offline_map, render_map, save_map

X0, Y0 = 336_400.0, 6_281_600.0  # central Biarritz in Lambert-93 (EPSG:2154) metres
TO_WGS84 = Transformer.from_crs(2154, 4326, always_xy=True)


def _zones() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "zone_id": ["Z01", "Z02"],
            "name": ["Centre", "Saint-Charles"],
            "population": [4000, 1500],
            "area_km2": [0.5, 0.25],
        },
        geometry=[box(X0 - 500, Y0, X0, Y0 + 500), box(X0, Y0, X0 + 500, Y0 + 500)],
        crs=2154,
    )


def _buildings(n: int = 5) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["Hôtel du Palais", *[None] * (n - 1)],
            "kind": ["hotel", *["house"] * (n - 1)],
            "height_m": [25.0, *[7.5] * (n - 1)],
        },
        geometry=[box(X0 + 20 * i, Y0 + 10, X0 + 20 * i + 12, Y0 + 22) for i in range(n)],
        crs=2154,
    )


def _streets() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(crs="EPSG:2154")
    for node, (x, y) in {1: (X0, Y0), 2: (X0 + 200, Y0), 3: (X0 + 200, Y0 + 150)}.items():
        g.add_node(node, x=x, y=y)
    line = LineString([(X0, Y0), (X0 + 100, Y0 + 5), (X0 + 200, Y0)])
    # a two-way street is two directed edges: it must be drawn once
    g.add_edge(1, 2, 0, highway="major", name="Avenue Édouard-VII", geometry=line)
    g.add_edge(2, 1, 0, highway="major", name="Avenue Édouard-VII", geometry=line.reverse())
    g.add_edge(2, 3, 0, highway=["pedestrian", "minor"], name=None)  # no geometry: straight
    return g


def _hotspots() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["hs-grande-plage", "hs-port-vieux", "hs-halles", "hs-mairie"],
            "state": ["up", "down", "degraded", "rebooting"],
            "clients": [12, 0, 3, None],
        },
        geometry=[Point(X0 + 50 * i, Y0 + 300) for i in range(4)],
        crs=2154,
    )


def _layer_data(html: str, name: str) -> dict[str, Any]:
    """The parallel-array payload of a GeoJsonLayer, found by its name in the layer control."""
    var = re.search(rf'"{re.escape(name)}" : (geo_json_layer_[0-9a-f]+)', html)
    assert var, f"no layer {name!r} in the layer control"
    block = html[html.index(f"var {var.group(1)} = ") :]
    data = re.search(r"d = (\{.*?\});\n", block)
    assert data
    return json.loads(data.group(1))


def test_reprojection_matches_the_lambert93_definition() -> None:
    # Lambert-93 maps (3°E, 46.5°N) to exactly (700 000 m, 6 600 000 m) by definition
    # (IGN, "Lambert-93" projection parameters, RGF93).
    m = offline_map(location=(46.5, 3.0))
    site = gpd.GeoDataFrame({"name": ["origin"]}, geometry=[Point(700_000, 6_600_000)], crs=2154)
    layers.add_sites(m, site, name="Origin")
    assert _layer_data(render_map(m), "Origin")["g"][0]["coordinates"] == [3.0, 46.5]


def test_streets_two_way_once_width_by_kind() -> None:
    m = offline_map(bounds_wgs84=layers.wgs84_bounds(_zones()))
    layers.add_streets(m, _streets())
    html = render_map(m)
    data = _layer_data(html, "Streets")
    assert len(data["g"]) == 2
    kinds = list(layers._STREET_STYLES)
    assert sorted(data["s"]) == sorted([kinds.index("major"), kinds.index("pedestrian")])
    straight = next(g for g, s in zip(data["g"], data["s"], strict=True) if s)
    assert len(straight["coordinates"]) == 2  # the edge without geometry joins its nodes
    assert data["p"][data["s"].index(0)] == ["Avenue Édouard-VII", "major"]


def test_streets_graph_without_crs_is_refused() -> None:
    g = _streets()
    del g.graph["crs"]
    with pytest.raises(MapError, match="no 'crs'"):
        layers.add_streets(offline_map(location=(43.48, -1.55)), g)


def test_zone_choropleth_colours_and_legend() -> None:
    m = offline_map(bounds_wgs84=layers.wgs84_bounds(_zones()))
    layers.add_zones(m, _zones(), "population", colormap="cividis")
    html = render_map(m)
    styles = json.loads(re.search(r"var styles = (\[.*?\]), icons", html).group(1))
    # cividis runs from dark blue (low) to yellow (high): Centre (4000) is the yellow end
    assert styles[0]["fillColor"] == "#fee838"
    assert styles[1]["fillColor"] == "#00224e"
    assert "linear-gradient" in html and "1 500" in html and "4 000" in html


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m: layers.add_zones(m, _zones(), "population", colormap="jet"), "colour-blind"),
        (lambda m: layers.add_zones(m, _zones(), "nope"), "no column 'nope'"),
        (lambda m: layers.add_zones(m, _zones(), "name"), "not numeric"),
        (
            lambda m: layers.add_buildings(m, _buildings().set_crs(None, allow_override=True)),
            "no CRS",
        ),
        (lambda m: layers.add_buildings(m, _hotspots()), "must be MultiPolygon or Polygon"),
        (lambda m: layers.add_sites(m, _zones()), "must be Point"),
        (lambda m: layers.add_hotspots(m, _hotspots(), state_column="status"), "no 'status'"),
        (lambda m: layers.add_fibre(m, _zones()), "LineString"),
        (lambda m: layers.add_sites(m, _zones().drop(columns="geometry")), "GeoDataFrame"),
        (lambda m: layers.add_raster(m, np.ones((3, 3))), "needs bounds"),
        (
            lambda m: layers.add_raster(m, np.full((3, 3), np.nan), bounds=(0, 0, 3, 3)),
            "holds no data",
        ),
        (lambda m: layers.add_raster(m, "/nonexistent/cov.tif"), "cannot read raster"),
    ],
)
def test_bad_layer_input_is_a_map_error(call: Any, match: str) -> None:
    with pytest.raises(MapError, match=match):
        call(offline_map(location=(43.48, -1.55)))


def _png(overlay: Any) -> np.ndarray:
    data = overlay.url.removeprefix("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA"))


def test_raster_lands_where_it_belongs(tmp_path: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin

    # 10 m cells over 2 km; one 30 m block of data near the town hall, NaN elsewhere
    array = np.full((200, 200), np.nan)
    array[100:103, 60:63] = -55.0
    transform = from_origin(X0 - 1000, Y0 + 1000, 10, 10)
    path = tmp_path / "coverage.tif"
    # written like a coverage GeoTIFF: float32, nodata -9999, several bands
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=200,
        height=200,
        count=2,
        dtype="float32",
        crs="EPSG:2154",
        transform=transform,
        nodata=-9999,
    ) as dst:
        dst.write(np.where(np.isnan(array), -9999, array).astype(np.float32), 1)
        dst.write(np.zeros((200, 200), np.float32), 2)
    with pytest.raises(MapError, match="no band 3"):
        layers.add_raster(offline_map(location=(43.48, -1.55)), path, band=3)
    m = offline_map(location=(43.48, -1.55))
    overlay = layers.add_raster(m, path, vmin=-90, vmax=-40, legend_title="RSSI (dBm)")
    rgba = _png(overlay)
    opaque = np.argwhere(rgba[:, :, 3] > 0)
    assert 0 < len(opaque) < 40  # only the 3×3 block is drawn
    (south, west), (north, east) = overlay.bounds
    rows, cols = rgba.shape[:2]
    # the centre of the opaque pixels, in degrees: Web Mercator is linear in x (lon) and,
    # over 2 km, close enough to linear in y for a 10 m check
    r, c = opaque.mean(axis=0) + 0.5
    lon = west + (east - west) * c / cols
    lat = north - (north - south) * r / rows
    want_lon, want_lat = TO_WGS84.transform(X0 - 1000 + 615, Y0 + 1000 - 1015)
    assert abs(lon - want_lon) * 80_000 < 10  # metres (1° of longitude ≈ 80 km here)
    assert abs(lat - want_lat) * 111_000 < 10
    # the value -55 on a -90…-40 viridis scale
    import matplotlib as mpl

    want = np.round(np.array(mpl.colormaps["viridis"](0.7)[:3]) * 255)
    assert np.abs(rgba[tuple(opaque[0])][:3] - want).max() <= 1
    assert "RSSI (dBm)" in render_map(m)


def test_large_raster_is_resampled_down() -> None:
    m = offline_map(location=(43.48, -1.55))
    overlay = layers.add_raster(
        m,
        np.random.default_rng(1).normal(size=(3000, 1500)),
        bounds=(X0 - 1500, Y0 - 3000, X0 + 1500, Y0 + 3000),
        max_pixels=512,
    )
    assert max(_png(overlay).shape[:2]) <= 512


def test_hotspot_states_use_shape_and_text() -> None:
    m = offline_map(bounds_wgs84=layers.wgs84_bounds(_hotspots()))
    layers.add_hotspots(m, _hotspots())
    html = render_map(m)
    data = _layer_data(html, "Hotspots")
    order = list(layers.HOTSPOT_STATES)
    # an unrecognised state ("rebooting") is drawn as unknown but named as it is
    assert data["s"] == [0, order.index("down"), order.index("degraded"), order.index("unknown")]
    assert data["p"][3] == ["hs-mairie", "rebooting", None]
    icons = json.loads(re.search(r"icons = (\[.*?\]);", html).group(1))
    shapes = [re.search(r"<(circle|path|rect)", i).group(1) for i in icons]
    assert len(set(icons)) == 4 and shapes[0] == "circle" and shapes[2] == "rect"
    for state in ("up", "degraded", "down", "unknown / not polled"):
        assert state in html


def test_every_layer_in_one_control_kept_last() -> None:
    m = offline_map(bounds_wgs84=layers.wgs84_bounds(_zones()))
    layers.add_zones(m, _zones())
    layers.add_buildings(m, _buildings())
    layers.add_streets(m, _streets())
    layers.add_hotspots(m, _hotspots())
    html = render_map(m)
    assert html.count("L.control.layers(") == 1
    control = html.index("L.control.layers(")
    for name in ("Zones", "Buildings", "Streets", "Hotspots"):
        assert html.index(f'"{name}" : geo_json_layer') < control


def test_tooltips_are_escaped_in_the_browser_not_trusted() -> None:
    evil = _buildings(1).assign(name="<img src=x onerror=alert(1)>")
    m = offline_map(bounds_wgs84=layers.wgs84_bounds(evil))
    layers.add_buildings(m, evil)
    html = render_map(m)
    assert "<img src=x" not in html  # escaped in the JSON, and again by esc() in the page


@pytest.mark.chromium
def test_all_layers_drawn_in_chromium(tmp_path: Path, page: Any, offsite: Any) -> None:
    m = offline_map(bounds_wgs84=layers.wgs84_bounds(_zones()))
    layers.add_zones(m, _zones(), "population")
    layers.add_buildings(m, _buildings(40))
    layers.add_streets(m, _streets())
    layers.add_raster(
        m,
        np.linspace(-90, -40, 400).reshape(20, 20),
        bounds=(X0 - 500, Y0, X0 + 500, Y0 + 500),
        legend_title="RSSI (dBm)",
        name="Coverage",
    )
    layers.add_sites(m, _hotspots(), name="Candidates", column="state")
    layers.add_fibre(
        m,
        gpd.GeoDataFrame(
            {"kind": ["trench", "duct"], "length_m": [200.0, 150.0]},
            geometry=[
                LineString([(X0, Y0), (X0, Y0 + 200)]),
                LineString([(X0, Y0), (X0 + 150, Y0)]),
            ],
            crs=2154,
        ),
        column="kind",
    )
    layers.add_hotspots(m, _hotspots())
    html_path = save_map(m, tmp_path / "layers.html")
    page.goto(html_path.as_uri())
    page.wait_for_load_state("networkidle")
    assert page.console_errors == []
    assert offsite(page.requested_urls) == []
    names = page.inner_text(".leaflet-control-layers").split("\n")
    assert [n.strip() for n in names if n.strip()] == [
        "Zones",
        "Buildings",
        "Streets",
        "Coverage",
        "Candidates",
        "Fibre backhaul",
        "Hotspots",
    ]
    legends = page.inner_text(".leaflet-bottom.leaflet-right")
    for text in ("population", "RSSI (dBm)", "-90", "-40", "trench", "duct", "down", "degraded"):
        assert text in legends
    # features really on the map, counted by Leaflet itself
    counts = page.evaluate(
        """() => { const out = {};
             for (const [k, v] of Object.entries(window)) {
               if (k.startsWith('geo_json_layer_') && v.getLayers) out[k] = v.getLayers().length; }
             return Object.values(out).sort((a, b) => a - b); }"""
    )
    assert counts == [2, 2, 2, 4, 4, 40]
    assert page.locator("img.leaflet-image-layer").count() == 1
    # hotspot markers: one SVG per hotspot with its state name for screen readers
    labels = page.eval_on_selector_all(".vn-marker svg", "els => els.map(e => e.ariaLabel)")
    assert sorted(labels) == ["degraded", "down", "unknown / not polled", "up"]
    page.hover(".vn-marker >> nth=1")
    assert "hs-port-vieux" in page.inner_text(".leaflet-tooltip")
    assert "clients: 0" in page.inner_text(".leaflet-tooltip")


def test_missing_values_and_booleans_in_tooltips() -> None:
    import pandas as pd

    hotspots = (
        _hotspots()
        .iloc[:2]
        .assign(
            name=pd.array(["hs-a", None], dtype="string"),
            state=pd.array(["up", None], dtype="string"),
            indoor=[True, False],
        )
    )
    m = offline_map(bounds_wgs84=layers.wgs84_bounds(hotspots))
    layers.add_hotspots(m, hotspots, tooltip_columns=["state", "indoor"])
    data = _layer_data(render_map(m), "Hotspots")
    assert data["s"] == [0, list(layers.HOTSPOT_STATES).index("unknown")]
    assert data["p"] == [["hs-a", "up", "yes"], [None, None, "no"]]
