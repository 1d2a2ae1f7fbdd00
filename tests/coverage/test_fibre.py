"""Fibre eligibility by distance along streets, and the ARCEP figures beside it."""

import json
from types import SimpleNamespace

import geopandas as gpd
import networkx as nx
import pytest
from shapely.geometry import LineString, box

from villenum.cli import main
from villenum.coverage.fibre import fibre_eligibility, read_routes, zone_fibre_table
from villenum.data import to_wgs84
from villenum.errors import CoverageError

from .conftest import CRS, X0, Y0


@pytest.fixture
def street_city():
    """An L-shaped street: east along y = 0 to x = 400, then north along x = 400."""
    g = nx.MultiDiGraph(crs=CRS)
    pts = {
        0: (0, 0),
        1: (100, 0),
        2: (200, 0),
        3: (300, 0),
        4: (400, 0),
        5: (400, 100),
        6: (400, 200),
    }
    for n, (x, y) in pts.items():
        g.add_node(n, x=X0 + x, y=Y0 + y)
    for u, v in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6)]:
        length = ((pts[u][0] - pts[v][0]) ** 2 + (pts[u][1] - pts[v][1]) ** 2) ** 0.5
        g.add_edge(u, v, length=length)
        g.add_edge(v, u, length=length)
    # 10 m houses set 15 m back from the street: near node 1, node 3 and node 6
    houses = [(100, 15), (300, 15), (415, 200)]
    buildings = gpd.GeoDataFrame(
        {"zone_id": ["A", "A", "B"], "residents": [2, 4, 6], "height_m": [6.0] * 3},
        geometry=[box(X0 + x - 5, Y0 + y - 5, X0 + x + 5, Y0 + y + 5) for x, y in houses],
        crs=CRS,
    )
    zones = gpd.GeoDataFrame(
        {"zone_id": ["A", "B"], "name": ["South", "East"]},
        geometry=[
            box(X0 - 50, Y0 - 50, X0 + 350, Y0 + 50),
            box(X0 + 350, Y0 - 50, X0 + 450, Y0 + 250),
        ],
        crs=CRS,
    )
    return SimpleNamespace(name="Lville", streets=g, buildings=buildings, zones=zones, fibre=None)


def _routes(coords):
    return gpd.GeoDataFrame(geometry=[LineString([(X0 + x, Y0 + y) for x, y in coords])], crs=CRS)


def test_distance_is_walked_along_the_streets(street_city):
    # fibre along the first 100 m of the street (nodes 0 and 1 are on it)
    out = fibre_eligibility(street_city, _routes([(0, -2), (100, -2)]), max_distance_m=250)
    d = out["fibre_distance_m"].tolist()
    assert d[0] == pytest.approx(15.0 + 2.0 - 2.0, abs=2.5)  # next to the route: direct hop
    assert d[1] == pytest.approx(200 + 15, abs=0.5)  # node 1 -> node 3 along the street, + 15 m
    # straight-line distance from the route to house 3 is about 360 m; along streets 500 m + 15
    assert d[2] > 250 and not out["fibre_eligible"].iloc[2]
    assert out["fibre_eligible"].tolist() == [True, True, False]
    table = zone_fibre_table(street_city, out)
    assert table.set_index("zone_id").loc["A", "eligible_share"] == 1.0
    assert table.set_index("zone_id").loc["ALL", "residents_share"] == pytest.approx(6 / 12)


def test_bad_routes(street_city, tmp_path):
    with pytest.raises(CoverageError, match="no fibre route passes within"):
        fibre_eligibility(street_city, _routes([(0, 500), (100, 500)]))
    with pytest.raises(CoverageError, match="max distance"):
        fibre_eligibility(street_city, _routes([(0, 0), (100, 0)]), 0)
    with pytest.raises(CoverageError, match="not found"):
        read_routes(tmp_path / "none.geojson")
    pts = tmp_path / "pts.geojson"
    pts.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [-1.55, 43.48]},
                        "properties": {},
                    }
                ],
            }
        )
    )
    with pytest.raises(CoverageError, match="must be lines"):
        read_routes(pts)


def test_fibre_cli_on_biarritz(biarritz, tmp_path, capsys):
    # an illustrative route along the streets nearest the town hall (not real FttH data)
    edges = biarritz.street_lines.reset_index()
    hall = biarritz.town_hall.geometry.iloc[0]
    near = edges.iloc[edges.distance(hall).sort_values().index[:12]]
    path = tmp_path / "routes.geojson"
    to_wgs84(near[["geometry"]]).to_file(path, driver="GeoJSON")
    status = main(["coverage", "fibre", "--routes", str(path), "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert status == 0
    assert "ARCEP 2018T1: 9582 premises connectable" in out
    csv = (tmp_path / "o" / "fibre_zones.csv").read_text().splitlines()
    assert len(csv) == len(biarritz.zones) + 2 and "arcep_connectable_share" in csv[0]
