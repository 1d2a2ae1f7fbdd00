"""Line of sight on hand-built geometry with known answers."""

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from villenum.coverage.los import (
    HeightGrid,
    reference_line_of_sight,
    trace_paths,
    visibility_disc,
)

BOUNDS = (-300.0, -300.0, 300.0, 300.0)


def _grid(boxes_heights, resolution_m=1.0):
    gdf = gpd.GeoDataFrame(
        {"height_m": [h for _, h in boxes_heights]},
        geometry=[box(*b) for b, _ in boxes_heights],
        crs="EPSG:2154",
    )
    return gdf, HeightGrid.from_buildings(gdf, BOUNDS, resolution_m)


def _all_methods(gdf, grid, rx, tx=(0.0, 0.0, 6.0)):
    rx = np.asarray(rx, dtype=float)
    disc = visibility_disc(grid, *tx, rx[:, 0], rx[:, 1], max_range_m=300.0, ray_spacing_m=0.5)
    exact = trace_paths(grid, *tx, rx[:, 0], rx[:, 1])
    ref = reference_line_of_sight(gdf, *tx, rx[:, 0], rx[:, 1])
    return disc, exact, ref


def test_height_grid_rasterises_tallest_roof():
    _, grid = _grid([((0, 0, 10, 10), 5.0), ((5, 5, 20, 20), 12.0)])
    assert grid.sample([2.5], [2.5])[0] == 5.0
    assert grid.sample([7.5], [7.5])[0] == 12.0  # overlap: the taller roof
    assert grid.sample([50.0, 1e6], [50.0, 0.0]).tolist() == [0.0, 0.0]


def test_one_wall_blocks_in_3d():
    # a 10 m wall across x = 50..52 for |y| < 100; transmitter 6 m high at the origin
    gdf, grid = _grid([((50, -100, 52, 100), 10.0)])
    rx = [(30, 0), (100, 0), (100, 150), (40, 280), (250, 0)]
    for vis in _all_methods(gdf, grid, rx):
        los = vis if isinstance(vis, np.ndarray) else vis.los
        assert los.tolist() == [True, False, False, True, False]


def test_low_wall_depends_on_the_line_height():
    # 3 m wall at x = 50..52: the 6 m -> 1.5 m line is at 3.7 m there for a receiver 100 m away
    # (clears it) but at 2.2 m for a receiver 60 m away (blocked)
    gdf, grid = _grid([((50, -100, 52, 100), 3.0)])
    for vis in _all_methods(gdf, grid, [(100, 0), (60, 0)]):
        los = vis if isinstance(vis, np.ndarray) else vis.los
        assert los.tolist() == [True, False]


def test_street_canyon_and_indoor_receivers():
    # 15 m rows of buildings either side of a 20 m street along x
    gdf, grid = _grid([((-250, 10, 250, 30), 15.0), ((-250, -30, 250, -10), 15.0)])
    along = [(x, y) for x in (-200, -50, 20, 150, 280) for y in (-8, 0, 8)]
    behind = [(100, 40), (-120, -45), (60, 200)]
    indoor = [(100, 20)]
    disc, exact, ref = _all_methods(gdf, grid, along + behind + indoor)
    expected = [True] * len(along) + [False] * len(behind) + [True]
    assert disc.los.tolist() == expected
    assert exact.los.tolist() == expected
    assert ref.tolist() == expected
    # indoor: from the facade crossing (50, 10) to (100, 20) is 51 m inside
    assert exact.indoor_m[-1] == pytest.approx(51.0, abs=1.5)
    assert np.all(exact.indoor_m[:-1] == 0)
    # behind the row, the path crosses the 20 m deep row of buildings
    assert exact.crossed_m[len(along)] == pytest.approx(20.0 * np.hypot(100, 40) / 40, abs=3)


def test_corner_side_street_is_nlos():
    # a cross-roads: main street |y| < 10, side street 90 < x < 110, blocks 18 m tall elsewhere
    blocks = [
        ((-300, 10, 90, 300), 18.0),
        ((110, 10, 300, 300), 18.0),
        ((-300, -300, 90, -10), 18.0),
        ((110, -300, 300, -10), 18.0),
    ]
    gdf, grid = _grid(blocks)
    rx = [(100, 5), (100, 14), (100, 80), (100, -150), (200, 0), (-50, 0)]
    disc, exact, ref = _all_methods(gdf, grid, rx)
    # from 100 m down the main street, 4 m into the side street the corner block already hides
    # the transmitter (the path meets y = 10 at x = 71 < 90)
    assert exact.los.tolist() == [True, False, False, False, True, True]
    assert disc.los.tolist() == exact.los.tolist() == ref.tolist()


def test_transmitter_on_a_building_is_not_blocked_by_it():
    _, grid = _grid([((-5, -5, 5, 5), 10.0)])
    exact = trace_paths(grid, 0.0, 0.0, 4.0, [50.0, -80.0], [0.0, 30.0])
    assert exact.los.all()


def test_disc_agrees_with_reference_on_random_city_blocks():
    rng = np.random.default_rng(7)
    boxes = []
    for _ in range(120):
        x, y = rng.uniform(-280, 260, 2)
        w, h = rng.uniform(5, 25, 2)
        if abs(x) < 15 and abs(y) < 15:
            continue
        boxes.append(((x, y, x + w, y + h), float(rng.uniform(4, 25))))
    gdf, grid = _grid(boxes, resolution_m=1.0)
    pts = rng.uniform(-280, 280, (800, 2))
    pts = pts[np.hypot(pts[:, 0], pts[:, 1]) < 290]
    outdoor = grid.sample(pts[:, 0], pts[:, 1]) == 0
    disc, exact, ref = _all_methods(gdf, grid, pts)
    assert 0.2 < ref[outdoor].mean() < 0.9  # a mix of both answers, so the check means something
    assert (disc.los[outdoor] == ref[outdoor]).mean() > 0.97
    assert (exact.los[outdoor] == ref[outdoor]).mean() > 0.98


def test_long_range_fans_are_marched_in_blocks(monkeypatch):
    from villenum.coverage import los as los_module

    rng = np.random.default_rng(11)
    boxes = [
        ((x, y, x + 12, y + 12), float(rng.uniform(4, 25)))
        for x, y in rng.uniform(-280, 260, (150, 2))
        if abs(x) > 20 or abs(y) > 20
    ]
    _, grid = _grid(boxes)
    pts = rng.uniform(-280, 280, (3000, 2))
    whole = visibility_disc(grid, 0.0, 0.0, 8.0, pts[:, 0], pts[:, 1], max_range_m=400.0)
    monkeypatch.setattr(los_module, "MAX_FAN_SAMPLES", 5000)  # many blocks of a few rays
    blocks = visibility_disc(grid, 0.0, 0.0, 8.0, pts[:, 0], pts[:, 1], max_range_m=400.0)
    assert np.array_equal(whole.los, blocks.los)
    assert np.array_equal(whole.indoor_m, blocks.indoor_m)
    assert np.array_equal(whole.crossed_m, blocks.crossed_m)
    assert 0.2 < whole.los.mean() < 0.95
