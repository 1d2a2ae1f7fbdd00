"""Benchmark: building-aware Wi-Fi coverage of Biarritz, 5 m grid, 300 m range.

N candidate access points (N = 100 and 1000) stand at street positions (graph nodes and edge
midpoints inside the commune). The engine (fan-of-rays line of sight on a height raster,
vectorised path loss, threads) is compared with a straightforward baseline measured in the
same run on a subset: one shapely LineString per transmitter-cell path, intersected with the
buildings found by their STRtree, then the same UMi path loss for that path.

Printed: wall time, path evaluations per second per core, the per-core speed-up over the
baseline, and the peak resident memory. Target: 1000 sites in ≤ 10 s on 2 cores, ≥ 10× the
baseline.
"""

from __future__ import annotations

import os
import resource
import sys
import time

import numpy as np
import shapely

from villenum.coverage import propagation as prop
from villenum.coverage.los import reference_line_of_sight
from villenum.coverage.radio import Transmitter
from villenum.coverage.raster import compute_coverage
from villenum.data import load_city

RESOLUTION_M = 5.0
RANGE_M = 300.0
BASELINE_SITES = 3
BASELINE_PATHS_PER_SITE = 600


def street_positions(city: object) -> np.ndarray:
    """Street graph nodes and edge midpoints inside the commune (EPSG:2154)."""
    nodes = np.array([(d["x"], d["y"]) for _, d in city.streets.nodes(data=True)])
    mids = shapely.line_interpolate_point(city.street_lines.geometry.values, 0.5, normalized=True)
    points = np.vstack([nodes, shapely.get_coordinates(mids)])
    points = np.unique(np.round(points, 1), axis=0)
    return points[shapely.contains_xy(city.boundary.union_all(), points[:, 0], points[:, 1])]


def paths_evaluated(result: object, sites: list[Transmitter]) -> int:
    """Transmitter-cell paths inside the commune and within range (what the engine computes)."""
    rows, cols = result.shape
    xs = result.left + (np.arange(cols) + 0.5) * RESOLUTION_M
    ys = result.top - (np.arange(rows) + 0.5) * RESOLUTION_M
    inside = ~np.isnan(result.rx_dbm)
    span = int(RANGE_M // RESOLUTION_M) + 2
    total = 0
    for s in sites:
        c, r = int((s.x - result.left) // RESOLUTION_M), int((result.top - s.y) // RESOLUTION_M)
        r0, c0 = max(0, r - span), max(0, c - span)
        win = inside[r0 : r + span + 1, c0 : c + span + 1]
        d = np.hypot(xs[c0 : c + span + 1][None, :] - s.x, ys[r0 : r + span + 1][:, None] - s.y)
        total += int(np.count_nonzero(win & (d <= RANGE_M)))
    return total


def baseline(city: object, sites: list[Transmitter], result: object) -> tuple[int, float]:
    """Per-path shapely LoS + scalar UMi on a sample of each site's cells; (paths, seconds)."""
    rng = np.random.default_rng(1)
    n, elapsed = 0, 0.0
    rr, cc = np.nonzero(result.server >= 0)
    x = result.left + (cc + 0.5) * RESOLUTION_M
    y = result.top - (rr + 0.5) * RESOLUTION_M
    # reference_line_of_sight builds the buildings' STRtree on each call: time that apart so
    # that the baseline is charged only for its per-path work
    start = time.perf_counter()
    shapely.STRtree(city.buildings.geometry.values)
    tree_s = time.perf_counter() - start
    for s in sites:
        near = np.flatnonzero(np.hypot(x - s.x, y - s.y) <= RANGE_M)
        pick = rng.choice(near, min(BASELINE_PATHS_PER_SITE, near.size), replace=False)
        start = time.perf_counter()
        los = reference_line_of_sight(city.buildings, s.x, s.y, s.height_m, x[pick], y[pick])
        for xi, yi, li in zip(x[pick], y[pick], los, strict=True):
            d = max(float(np.hypot(xi - s.x, yi - s.y)), 10.0)
            prop.umi_street_canyon(d, s.frequency_mhz / 1000, s.height_m, 1.5, bool(li))
        elapsed += time.perf_counter() - start - tree_s
        n += pick.size
    return n, elapsed


def main() -> int:
    cores = os.cpu_count() or 1
    print(f"loading Biarritz ... ({cores} cores)", flush=True)
    city = load_city("biarritz")
    candidates = street_positions(city)
    rng = np.random.default_rng(0)
    print(f"{len(candidates)} street positions; grid {RESOLUTION_M:g} m, range {RANGE_M:g} m")

    # the building-height raster is built once per city and cached: time it apart
    warm = [Transmitter(*candidates[0], band="5", site_id="warm-up")]
    start = time.perf_counter()
    compute_coverage(city, warm, RESOLUTION_M, RANGE_M, progress=False)
    print(f"set-up (height raster, grid): {time.perf_counter() - start:.2f} s")

    rate_per_core = 0.0
    last = None
    for n in (100, 1000):
        pick = candidates[rng.choice(len(candidates), n, replace=n > len(candidates))]
        sites = [Transmitter(x, y, band="5", site_id=f"c{i}") for i, (x, y) in enumerate(pick)]
        start, cpu = time.perf_counter(), time.process_time()
        result = compute_coverage(city, sites, RESOLUTION_M, RANGE_M, progress=False)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        paths = paths_evaluated(result, sites)
        rate_per_core = paths / wall / cores
        print(
            f"N = {n:4d}: {wall:6.2f} s wall ({cpu:.2f} s CPU), {paths / 1e6:6.2f} M paths, "
            f"{rate_per_core / 1e3:8.1f} k paths/s/core"
            + ("  (target <= 10 s)" if n == 1000 else "")
        )
        last = (sites, result)

    sites, result = last
    n_base, t_base = baseline(city, sites[:BASELINE_SITES], result)
    base_rate = n_base / t_base  # single-threaded: already per core
    print(
        f"baseline (shapely STRtree per path + scalar UMi, {n_base} paths on "
        f"{BASELINE_SITES} sites): {base_rate / 1e3:8.2f} k paths/s/core"
    )
    ratio = rate_per_core / base_rate
    print(f"ratio engine / baseline, per core: {ratio:.0f}x  (target >= 10x)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak_mb:.0f} MB (the city model included)")
    # other jobs on the machine slow the wall times: say how busy it was
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {cores} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
