"""A small hand-built city (one street canyon) for exact raster checks."""

from types import SimpleNamespace

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

X0, Y0 = 330_000.0, 6_270_000.0  # a Lambert-93 origin inside France
CRS = "EPSG:2154"


def _gdf(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=CRS)


@pytest.fixture(scope="session")
def toy_city():
    """600 m × 600 m; a 20 m wide street along y = Y0 + 300 between two 15 m rows of buildings
    (y in [310, 330] and [270, 290] relative, x in [50, 550]); two zones (west/east halves)."""
    rows = [box(X0 + 50, Y0 + 310, X0 + 550, Y0 + 330), box(X0 + 50, Y0 + 270, X0 + 550, Y0 + 290)]
    buildings = _gdf(
        rows,
        height_m=[15.0, 15.0],
        kind=["yes", "yes"],
        residents=[40, 60],
        zone_id=["W", "E"],
    )
    zones = _gdf(
        [box(X0, Y0, X0 + 300, Y0 + 600), box(X0 + 300, Y0, X0 + 600, Y0 + 600)],
        zone_id=["W", "E"],
        name=["West", "East"],
        area_km2=[0.18, 0.18],
        population=[40, 60],
        visitors_peak=[100, 0],
    )
    demand = _gdf(
        [
            Point(X0 + 200, Y0 + 300),  # street, west
            Point(X0 + 420, Y0 + 300),  # street, east
            Point(X0 + 200, Y0 + 360),  # behind the north row
            Point(X0 + 420, Y0 + 320),  # inside the north row
        ],
        weight=[100.0, 10.0, 20.0, 30.0],
        weight_off=[50.0, 5.0, 20.0, 30.0],
        kind=["visitor", "resident", "resident", "resident"],
        place=["square", "building", "building", "building"],
        zone_id=["W", "E", "W", "E"],
    )
    return SimpleNamespace(
        name="Toyville",
        crs=CRS,
        boundary=_gdf([box(X0, Y0, X0 + 600, Y0 + 600)], name=["Toyville"]),
        buildings=buildings,
        zones=zones,
        demand=demand,
        notes=["illustrative hand-built geometry"],
    )
