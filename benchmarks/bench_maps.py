"""Benchmark: the Biarritz buildings layer, villenum's compact layer vs folium's GeoJson.

Baseline, measured in the same run: ``folium.GeoJson`` of the same reprojected buildings with a
``style_function`` and a ``GeoJsonTooltip`` (the usual folium recipe). Prints page size and
build+render time of both, and their ratios.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import folium
import osmnx as ox

from villenum.data import load_city, to_wgs84
from villenum.maps import layers
from villenum.maps.offline import offline_map, render_map


def _timed(build: Callable[[], folium.Map]) -> tuple[float, int]:
    start = time.perf_counter()
    html = render_map(build())
    return time.perf_counter() - start, len(html.encode("utf-8"))


def main() -> None:
    ox.settings.overpass_rate_limit = False
    city = load_city("biarritz")
    buildings = city.buildings
    bounds = layers.wgs84_bounds(city.boundary)
    fields = ["name", "kind", "height_m"]

    def villenum_map() -> folium.Map:
        m = offline_map(bounds_wgs84=bounds)
        layers.add_buildings(m, buildings)
        return m

    def folium_map() -> folium.Map:
        m = offline_map(bounds_wgs84=bounds)
        gdf = to_wgs84(buildings[[*fields, "geometry"]])
        folium.GeoJson(
            gdf,
            name="Buildings",
            style_function=lambda f: {"color": "#7a7a7a", "weight": 0.5, "fillOpacity": 0.55},
            tooltip=folium.GeoJsonTooltip(fields=fields),
        ).add_to(m)
        return m

    base_s, base_b = _timed(folium_map)
    ours_s, ours_b = _timed(villenum_map)
    print(f"{len(buildings)} buildings")
    print(f"folium.GeoJson      : {base_s:6.2f} s  {base_b / 1e6:6.2f} MB  (baseline)")
    print(f"layers.add_buildings: {ours_s:6.2f} s  {ours_b / 1e6:6.2f} MB")
    print(f"ratio time {ours_s / base_s:.2f}  ratio size {ours_b / base_b:.2f}  (lower is better)")


if __name__ == "__main__":
    main()
