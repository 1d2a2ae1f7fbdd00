"""Candidate sites and demand scenarios on the Biarritz model."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.spatial import cKDTree

from villenum.errors import DataError, PlanningError
from villenum.planning.candidates import candidate_sites, demand_weights


@pytest.fixture(scope="module")
def sites(biarritz) -> gpd.GeoDataFrame:
    return candidate_sites(biarritz)


def test_candidates_are_on_land_and_spaced(biarritz, sites) -> None:
    assert sites.crs == biarritz.crs
    assert set(sites["source"]) == {"roof", "street"}
    assert 500 < len(sites) < 5000
    xy = shapely.get_coordinates(sites.geometry.to_numpy())
    pairs = cKDTree(xy).query_pairs(30.0 - 1e-6)
    assert not pairs  # min spacing
    for layer in (biarritz.water, biarritz.beaches):
        area = shapely.unary_union(layer.geometry.to_numpy())
        assert not shapely.contains_xy(area, xy[:, 0], xy[:, 1]).any()
    assert sites["candidate_id"].is_unique
    assert sites["zone_id"].notna().all()


def test_street_candidates_lie_on_streets_and_roofs_above_buildings(biarritz, sites) -> None:
    street = sites[sites["source"] == "street"]
    lines = biarritz.street_lines.geometry.to_numpy()
    tree = shapely.STRtree(lines)
    _, dist = tree.query_nearest(street.geometry.to_numpy(), return_distance=True)
    assert dist.max() < 0.01
    assert (street["height_m"] == 6.0).all()
    roofs = sites[sites["source"] == "roof"]
    assert len(roofs) >= 10
    joined = gpd.sjoin(roofs, biarritz.buildings[["height_m", "geometry"]], predicate="within")
    assert (joined["height_m_left"] == joined["height_m_right"] + 2.0).all()


def test_user_sites_are_kept_first(biarritz, tmp_path) -> None:
    hall = biarritz.town_hall.to_crs("EPSG:4326").geometry.iloc[0]
    path = tmp_path / "mine.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "Mairie roof", "height_m": 18},
                        "geometry": {"type": "Point", "coordinates": [hall.x, hall.y]},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    sites = candidate_sites(biarritz, user_sites=path)
    mine = sites[sites["source"] == "user"]
    assert mine["name"].tolist() == ["Mairie roof"] and mine["height_m"].tolist() == [18.0]
    near = sites.geometry.distance(mine.geometry.iloc[0])
    assert (near[sites["source"] != "user"] >= 30.0).all()


def test_bad_user_file_and_spacing_are_clear_errors(biarritz, tmp_path) -> None:
    bad = tmp_path / "bad.geojson"
    bad.write_text("not json", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.geojson"):
        candidate_sites(biarritz, user_sites=bad)
    with pytest.raises(PlanningError, match="street_step_m"):
        candidate_sites(biarritz, street_step_m=0)
    with pytest.raises(PlanningError, match="unknown candidate source"):
        candidate_sites(biarritz, include=("lamp",))


def test_season_switch(biarritz) -> None:
    peak, off = demand_weights(biarritz, "peak"), demand_weights(biarritz, "off")
    assert peak.shape == off.shape == (len(biarritz.demand),)
    assert peak.sum() > 2 * off.sum()
    beach = biarritz.demand["place"].to_numpy() == "beach"
    assert np.all(peak[beach] >= off[beach])
    with pytest.raises(PlanningError, match="season"):
        demand_weights(biarritz, "winter")
