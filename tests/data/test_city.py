"""The embedded Biarritz city model, on the real open data."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import shapely

from villenum.data import load_city
from villenum.data.city import EMBEDDED_DIR
from villenum.data.population import allocate_integer
from villenum.data.zones import short_name
from villenum.errors import DataError

BIARRITZ = EMBEDDED_DIR / "biarritz"
INSEE_POPULATION = 25_404


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "villenum", *args], capture_output=True, text=True, timeout=300
    )


def test_source_counts_match_sources_md():
    # SOURCES.md: 14,476 footprints; 2,258 nodes and 5,754 directed edges; 13 beaches; 6 water.
    raw = gpd.read_file(f"/vsigzip/{BIARRITZ / 'buildings.geojson.gz'}")
    assert len(raw) == 14_476
    assert len(gpd.read_file(BIARRITZ / "beaches.geojson")) == 13
    assert len(gpd.read_file(BIARRITZ / "water.geojson")) == 6


def test_street_graph_is_usable_by_osmnx(biarritz):
    graph = biarritz.streets
    assert graph.number_of_nodes() == 2_258
    assert graph.number_of_edges() == 5_754
    largest = max(nx.weakly_connected_components(graph), key=len)
    assert len(largest) / graph.number_of_nodes() >= 0.95
    hall = biarritz.town_hall.geometry.iloc[0]
    lighthouse = biarritz.buildings[biarritz.buildings["name"].fillna("").str.contains("Phare")]
    assert not lighthouse.empty
    target = lighthouse.geometry.iloc[0].centroid
    orig, dest = ox.nearest_nodes(graph, [hall.x, target.x], [hall.y, target.y])
    route = ox.shortest_path(graph, orig, dest, weight="length")
    assert route[0] == orig and route[-1] == dest
    route_m = sum(graph[u][v][0]["length"] for u, v in itertools.pairwise(route))
    # The mairie to the Phare de la Pointe Saint-Martin: about 2 km as the crow flies.
    assert hall.distance(target) < route_m < 3 * hall.distance(target)


def test_every_layer_projected_and_inside_the_commune(biarritz):
    assert biarritz.crs == "EPSG:2154"
    minx, miny, maxx, maxy = biarritz.boundary.total_bounds
    box = shapely.box(minx, miny, maxx, maxy).buffer(2_000)
    for name, layer in biarritz.layers().items():
        assert layer.crs.to_epsg() == 2154, name
        assert box.contains(shapely.box(*layer.total_bounds)), name
    assert biarritz.streets.graph["crs"].to_epsg() == 2154


def test_land_area_close_to_official_figure(biarritz):
    # INSEE: 11.66 km². The IGN 2018 polygon (12.35 km²) reaches into the sea; cut at the coast
    # it must come within 5 %.
    assert biarritz.boundary["area_km2"].iloc[0] == pytest.approx(11.66, rel=0.05)


def test_population_sums_exactly(biarritz):
    assert biarritz.buildings["residents"].sum() == INSEE_POPULATION
    assert biarritz.zones["population"].sum() == INSEE_POPULATION
    residents = biarritz.demand[biarritz.demand["kind"] == "resident"]
    assert residents["weight"].sum() == INSEE_POPULATION
    # Nobody lives in a church or a garage.
    for kind in ("church", "garage", "school"):
        assert biarritz.buildings.loc[biarritz.buildings["kind"] == kind, "residents"].sum() == 0


def test_visitors_follow_the_peak_factor(biarritz):
    visitors = biarritz.demand[biarritz.demand["kind"] == "visitor"]
    expected = (biarritz.peak_factor - 1) * INSEE_POPULATION
    assert visitors["weight"].sum() == pytest.approx(expected)
    assert set(visitors["place"]) == {"beach", "seafront", "square"}
    assert visitors["weight_off"].sum() == pytest.approx(
        (biarritz.off_season_factor - 1) * INSEE_POPULATION
    )
    assert biarritz.zones["visitors_peak"].sum() == pytest.approx(expected, abs=len(biarritz.zones))


def test_peak_factor_is_a_parameter():
    city = load_city("biarritz", peak_factor=2.0)
    visitors = city.demand.loc[city.demand["kind"] == "visitor", "weight"].sum()
    assert visitors == pytest.approx(INSEE_POPULATION)


def test_zones_tile_the_commune(biarritz):
    zones = biarritz.zones
    assert 8 <= len(zones) <= 20
    land = biarritz.boundary.geometry.iloc[0]
    assert zones.area.sum() == pytest.approx(land.area, rel=0.005)
    union = zones.union_all()
    assert union.symmetric_difference(land).area < 0.005 * land.area
    # No overlaps: pairwise intersections have (almost) no area.
    geoms = list(zones.geometry)
    overlap = sum(a.intersection(b).area for i, a in enumerate(geoms) for b in geoms[i + 1 :])
    assert overlap < 1.0
    assert zones["zone_id"].is_unique and zones["name"].is_unique
    assert zones["data_poor"].sum() == 1  # the south, outside the OSM extract
    assert (zones["buildings"] > 0).all()


def test_buildings_have_positive_heights(biarritz):
    buildings = biarritz.buildings
    assert (buildings["height_m"] > 0).all()
    assert (buildings["levels_est"] >= 1).all()
    assert np.allclose(buildings["floor_area_m2"], buildings.area * buildings["levels_est"])
    assert buildings["zone_id"].notna().all()


def test_fibre_figures(biarritz):
    fibre = biarritz.fibre
    assert fibre.dwellings == 25_394 and fibre.businesses == 1_487
    assert fibre.connectable == {"2017T3": 8_750, "2017T4": 9_349, "2018T1": 9_582}
    assert fibre.latest_quarter == "2018T1"


def test_attribution(biarritz):
    assert "© OpenStreetMap contributors" in biarritz.attribution
    assert any("data-poor" in note for note in biarritz.notes)


def test_load_is_cached(biarritz):
    assert load_city("biarritz") is biarritz


@pytest.mark.parametrize(
    ("street", "short"),
    [
        ("Avenue de la Marne", "Marne"),
        ("Boulevard du BAB", "BAB"),
        ("Avenue Édouard VII", "Édouard VII"),
        ("Rue de l'Océan", "Océan"),
        ("Place Clemenceau", "Clemenceau"),
    ],
)
def test_short_zone_names(street, short):
    assert short_name(street) == short


def test_largest_remainder_is_exact():
    shares = allocate_integer(10, np.array([1.0, 1.0, 1.0]))
    assert shares.sum() == 10 and sorted(shares) == [3, 3, 4]
    assert allocate_integer(5, np.zeros(3)).sum() == 0


# --- other cities and bad input -------------------------------------------------------------


@pytest.fixture
def city_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "city"
    shutil.copytree(BIARRITZ, folder)
    return folder


def test_a_city_folder_loads_like_the_embedded_one(city_copy):
    city = load_city(city_copy)
    assert city.name == "Biarritz" and city.buildings["residents"].sum() == INSEE_POPULATION


def test_unknown_city_name():
    with pytest.raises(DataError, match="unknown city 'atlantis'"):
        load_city("atlantis")


def test_missing_layer_file(city_copy):
    (city_copy / "buildings.geojson.gz").unlink()
    with pytest.raises(DataError, match="buildings layer not found"):
        load_city(city_copy)


def test_corrupt_layer_file(city_copy):
    (city_copy / "beaches.geojson").write_text("{not json")
    with pytest.raises(DataError, match="cannot read the beaches layer"):
        load_city(city_copy)


def test_corrupt_street_graph(city_copy):
    (city_copy / "streets.graphml.gz").write_bytes(b"garbage")
    with pytest.raises(DataError, match="cannot read the street graph"):
        load_city(city_copy)


def test_invalid_geometry(city_copy):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[-1.56, 43.48], [-1.55, 43.49], [-1.55, 43.48], [-1.56, 43.49], [-1.56, 43.48]]
        ],
    }
    doc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"natural": "water"}, "geometry": bowtie}],
    }
    (city_copy / "water.geojson").write_text(json.dumps(doc))
    with pytest.raises(DataError, match="invalid geometries"):
        load_city(city_copy)


def test_unprojected_crs_is_refused(city_copy):
    toml = city_copy / "city.toml"
    toml.write_text('crs = "EPSG:4326"\n' + toml.read_text())
    with pytest.raises(DataError, match="not projected"):
        load_city(city_copy)


def test_boundary_in_metres_without_crs_is_refused(city_copy):
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[330000, 6270000], [334000, 6270000], [334000, 6278000], [330000, 6270000]]
                    ],
                },
            }
        ],
    }
    (city_copy / "boundary.geojson").write_text(json.dumps(doc))
    with pytest.raises(DataError, match="not in longitude/latitude"):
        load_city(city_copy)


# --- CLI --------------------------------------------------------------------------------------


def test_cli_city_info_prints_the_summary():
    proc = run_cli("city", "info", "biarritz")
    assert proc.returncode == 0, proc.stderr
    assert "Biarritz (INSEE 64122)" in proc.stdout
    assert "25,404" in proc.stdout
    assert "© OpenStreetMap contributors" in proc.stdout
    assert "2018T1" in proc.stdout


def test_cli_city_export_writes_every_layer(tmp_path):
    out = tmp_path / "sub" / "biarritz.gpkg"
    proc = run_cli("city", "export", "biarritz", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert {"boundary", "zones", "buildings", "streets", "demand", "beaches"} <= layers
    zones = gpd.read_file(out, layer="zones")
    assert zones["population"].sum() == INSEE_POPULATION
    assert not list(tmp_path.glob("sub/*.partial*"))


@pytest.mark.parametrize(
    "args",
    [
        ("city", "info", "/no/such/city"),
        ("city", "export", "biarritz", "--out", "x.txt"),
        ("city", "info", "atlantis"),
        ("city", "export", "biarritz"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(args):
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
