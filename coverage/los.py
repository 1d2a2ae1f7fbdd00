"""Building-aware line of sight between a transmitter and receivers 1.5 m above ground.

Buildings are rasterised once into a :class:`HeightGrid` (roof height per small pixel). A path is
blocked when a building sample along it stands higher than the straight line from the antenna to
the receiver. For a whole disc of receivers around one transmitter, :func:`visibility_disc`
marches a fan of rays outwards in one batch of numpy operations and keeps, per ray, the running
maximum of the obstruction slope ``(h_building − h_tx) / s``: a receiver at distance ``r`` is in
line of sight when that maximum, taken up to ``r``, stays below ``(h_rx − h_tx) / r`` (the
"horizon" test). There is no Python loop per cell.

Conventions, for every function here:

- a receiver inside a building is served through its facade: its own building does not block
  the path; ``indoor_m`` is the distance from the facade to the receiver along the path, for
  the indoor loss;
- a transmitter whose position falls inside a footprint is taken as mounted on that building:
  its own building does not block its rays;
- ``crossed_m`` is the length of other buildings the path crosses, a documented input for an
  obstruction loss (not used by the TR 38.901 models, which only need LoS/NLoS).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
# samples marched at once (rays × steps): about 8 arrays of this many 4-byte values per thread
MAX_FAN_SAMPLES = 1_000_000


@dataclass(frozen=True)
class HeightGrid:
    """Roof heights of the buildings on a north-up raster (0 m where there is no building).

    Attributes
    ----------
    heights_m
        ``float32`` array (rows, cols); row 0 is the northern edge.
    left, top
        Coordinates of the raster's upper-left corner (m, projected CRS).
    resolution_m
        Pixel size (m).
    """

    heights_m: npt.NDArray[np.float32]
    left: float
    top: float
    resolution_m: float

    @classmethod
    def from_buildings(
        cls,
        buildings: Any,
        bounds: tuple[float, float, float, float],
        resolution_m: float = 2.0,
        height_column: str = "height_m",
    ) -> HeightGrid:
        """Rasterise building footprints with their heights.

        Parameters
        ----------
        buildings
            GeoDataFrame of (multi)polygons in a projected CRS with a height column (m).
        bounds
            ``(minx, miny, maxx, maxy)`` of the area to cover (m).
        resolution_m
            Pixel size (m); walls thinner than a pixel may leak.
        height_column
            Name of the height column.

        Returns
        -------
        HeightGrid
        """
        from affine import Affine
        from rasterio.features import rasterize

        minx, miny, maxx, maxy = bounds
        cols = max(1, math.ceil((maxx - minx) / resolution_m))
        rows = max(1, math.ceil((maxy - miny) / resolution_m))
        heights = np.zeros((rows, cols), dtype=np.float32)
        if len(buildings):
            # drawn lowest first so that where footprints overlap the tallest roof wins
            ordered = buildings.sort_values(height_column)
            shapes = (
                (_geojson(geom), float(h))
                for geom, h in zip(ordered.geometry, ordered[height_column], strict=True)
                if geom is not None and not geom.is_empty and h > 0
            )
            heights = rasterize(
                shapes,
                out_shape=(rows, cols),
                transform=Affine(resolution_m, 0.0, minx, 0.0, -resolution_m, maxy),
                fill=0.0,
                dtype="float32",
            )
        return cls(heights, float(minx), float(maxy), float(resolution_m))

    def sample(self, x: npt.ArrayLike, y: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Roof height at points (m), 0 outside buildings and outside the raster."""
        col = np.floor((np.asarray(x, dtype=np.float64) - self.left) / self.resolution_m)
        row = np.floor((self.top - np.asarray(y, dtype=np.float64)) / self.resolution_m)
        rows, cols = self.heights_m.shape
        inside = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
        out = np.zeros(np.shape(col), dtype=np.float32)
        out[inside] = self.heights_m[row[inside].astype(np.intp), col[inside].astype(np.intp)]
        return out


def _geojson(geom: Any) -> dict[str, Any]:
    """GeoJSON mapping of a (multi)polygon from coordinate arrays: several times faster than
    shapely's ``__geo_interface__`` for rasterising ten thousand footprints."""

    def rings(poly: Any) -> list[Any]:
        return [np.asarray(poly.exterior.coords)[:, :2]] + [
            np.asarray(ring.coords)[:, :2] for ring in poly.interiors
        ]

    if geom.geom_type == "Polygon":
        return {"type": "Polygon", "coordinates": rings(geom)}
    if geom.geom_type == "MultiPolygon":
        return {"type": "MultiPolygon", "coordinates": [rings(p) for p in geom.geoms]}
    return dict(geom.__geo_interface__)


@dataclass(frozen=True)
class Visibility:
    """Per receiver: line of sight, indoor distance and obstructing building length.

    Attributes
    ----------
    los
        True where the path is not blocked.
    indoor_m
        Distance from the receiver's facade to the receiver (m), 0 outdoors.
    crossed_m
        Length of (other) buildings the path crosses (m), 0 in line of sight.
    """

    los: npt.NDArray[np.bool_]
    indoor_m: npt.NDArray[np.float32]
    crossed_m: npt.NDArray[np.float32]


def _fan(n_rays: int, n_steps: int, step_px: float, first: int, stop: int) -> tuple[Any, Any]:
    """Column and row offsets (pixels) of the samples of rays ``first:stop`` of an evenly
    spaced fan of ``n_rays``."""
    angles = np.arange(first, stop) * (2 * math.pi / n_rays)
    s = ((np.arange(n_steps) + 1.0) * step_px).astype(np.float32)
    dcol = np.cos(angles).astype(np.float32)[:, None] * s
    drow = -np.sin(angles).astype(np.float32)[:, None] * s
    dcol.flags.writeable = drow.flags.writeable = False
    return dcol, drow


# a whole fan fits in one block for Wi-Fi ranges; it is cached since every site reuses it
_whole_fan = functools.lru_cache(maxsize=4)(_fan)


def _march(
    grid: HeightGrid,
    tx_x: float,
    tx_y: float,
    tx_height_m: float,
    dcol: npt.NDArray[np.float32],
    drow: npt.NDArray[np.float32],
    step_m: float,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32], npt.NDArray[np.int32], Any]:
    """March rays (sample offsets ``dcol``/``drow`` in pixels) from the transmitter; return per
    (ray, sample) the running obstruction slope, the index of the last outdoor sample so far,
    the running count of building samples, and which samples are in a building."""
    n_steps = dcol.shape[1]
    s = (np.arange(n_steps, dtype=np.float32) + 1.0) * np.float32(step_m)
    res = grid.resolution_m
    rows, cols = grid.heights_m.shape
    c0 = (tx_x - grid.left) / res
    r0 = (grid.top - tx_y) / res
    col = (dcol + np.float32(c0)).astype(np.int32)
    row = (drow + np.float32(r0)).astype(np.int32)
    # rays are straight: their last samples are the farthest from the transmitter
    reach_c = float(np.abs(dcol[:, -1]).max(initial=0.0)) + 1.0
    reach_r = float(np.abs(drow[:, -1]).max(initial=0.0)) + 1.0
    flat = grid.heights_m.reshape(-1)
    if reach_c <= c0 < cols - reach_c and reach_r <= r0 < rows - reach_r:
        h = flat[row * cols + col]  # the whole fan lies on the raster
    else:
        inside = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
        h = flat[np.clip(row, 0, rows - 1) * cols + np.clip(col, 0, cols - 1)]
        h = np.where(inside, h, np.float32(0.0))
    in_building = h > 0
    # the transmitter's own building (leading run of building samples) never blocks it
    own = np.logical_and.accumulate(in_building, axis=1)
    blocking = in_building & ~own
    slope = np.where(blocking, (h - np.float32(tx_height_m)) / s, np.float32(-np.inf))
    running_max = np.maximum.accumulate(slope, axis=1)
    index = np.arange(n_steps, dtype=np.int32)
    last_outdoor = np.maximum.accumulate(np.where(in_building, -1, index), axis=1).astype(np.int32)
    crossed = np.cumsum(blocking, axis=1, dtype=np.int32)
    return running_max, last_outdoor, crossed, in_building


def _receiver_view(
    ray: npt.NDArray[np.intp],
    r: FloatArray,
    rx_indoor: npt.NDArray[np.bool_],
    marched: tuple[Any, Any, Any, Any],
    tx_height_m: float,
    rx_height_m: float,
    step_m: float,
) -> Visibility:
    running_max, last_outdoor, crossed, in_building = marched
    n_steps = running_max.shape[1]
    # last sample strictly before the receiver (−1: the receiver is within one step)
    samp = np.minimum(np.floor(r / step_m).astype(np.intp) - 1, n_steps - 1)
    has = samp >= 0
    base = ray * n_steps  # flat indices: one take per array instead of 2-D fancy indexing
    at_samp = base + np.maximum(samp, 0)
    in_ray = in_building.reshape(-1)[at_samp] & has
    # indoor receivers are reached through their facade: stop before their own building
    entry = np.where(rx_indoor & in_ray, last_outdoor.reshape(-1)[at_samp], samp)
    ok = entry >= 0
    at_entry = base + np.maximum(entry, 0)
    worst = np.where(ok, running_max.reshape(-1)[at_entry], -np.inf)
    with np.errstate(divide="ignore"):
        rx_slope = (rx_height_m - tx_height_m) / np.maximum(r, 1e-6)
    los = worst < rx_slope
    crossed_m = np.where(ok & ~los, crossed.reshape(-1)[at_entry] * step_m, 0.0).astype(np.float32)
    indoor_m = np.where(
        rx_indoor, np.where(in_ray, (samp - entry) * step_m + step_m / 2, step_m / 2), 0.0
    ).astype(np.float32)
    return Visibility(los=los, indoor_m=indoor_m, crossed_m=crossed_m)


def visibility_disc(
    grid: HeightGrid,
    tx_x: float,
    tx_y: float,
    tx_height_m: float,
    rx_x: npt.ArrayLike,
    rx_y: npt.ArrayLike,
    rx_height_m: float = 1.5,
    *,
    max_range_m: float,
    step_m: float | None = None,
    ray_spacing_m: float | None = None,
    rx_indoor: npt.NDArray[np.bool_] | None = None,
) -> Visibility:
    """Line of sight from one transmitter to many receivers, by a fan of rays.

    Each receiver uses the ray nearest to its bearing; rays are spaced at most
    ``ray_spacing_m`` apart at ``max_range_m`` (default: two height-grid pixels).

    Parameters
    ----------
    grid
        Building heights.
    tx_x, tx_y
        Transmitter position (m, the grid's CRS).
    tx_height_m
        Transmitter antenna height above ground (m).
    rx_x, rx_y
        Receiver positions (m), within ``max_range_m`` of the transmitter.
    rx_height_m
        Receiver height above ground (m).
    max_range_m
        Length of the rays (m).
    step_m
        Sampling step along the rays (m); default the grid's pixel size.
    ray_spacing_m
        Largest gap between neighbouring rays at ``max_range_m`` (m). Fans larger than
        ``MAX_FAN_SAMPLES`` samples are marched in blocks of rays, so memory stays bounded.
    rx_indoor
        Which receivers are inside a building, when the caller already knows; by default
        looked up in ``grid``.

    Returns
    -------
    Visibility
    """
    step = float(step_m or grid.resolution_m)
    spacing = float(ray_spacing_m or 2.0 * grid.resolution_m)
    n_steps = max(1, math.ceil(max_range_m / step))
    n_rays = max(16, math.ceil(2 * math.pi * max_range_m / spacing))
    dx = np.asarray(rx_x, dtype=np.float64) - tx_x
    dy = np.asarray(rx_y, dtype=np.float64) - tx_y
    r = np.hypot(dx, dy)
    ray = np.rint(np.arctan2(dy, dx) * (n_rays / (2 * math.pi))).astype(np.intp) % n_rays
    rx_indoor = grid.sample(rx_x, rx_y) > 0 if rx_indoor is None else np.asarray(rx_indoor, bool)
    step_px = step / grid.resolution_m
    per_block = max(1, MAX_FAN_SAMPLES // n_steps)
    if per_block >= n_rays:
        marched = _march(
            grid, tx_x, tx_y, tx_height_m, *_whole_fan(n_rays, n_steps, step_px, 0, n_rays), step
        )
        return _receiver_view(ray, r, rx_indoor, marched, tx_height_m, rx_height_m, step)
    # long ranges (macro cells): march the fan in blocks of rays so memory stays bounded
    los = np.zeros(r.shape, dtype=bool)
    indoor_m = np.zeros(r.shape, dtype=np.float32)
    crossed_m = np.zeros(r.shape, dtype=np.float32)
    for first in range(0, n_rays, per_block):
        stop = min(n_rays, first + per_block)
        mine = np.flatnonzero((ray >= first) & (ray < stop))
        if mine.size == 0:
            continue
        fan = _fan(n_rays, n_steps, step_px, first, stop)
        marched = _march(grid, tx_x, tx_y, tx_height_m, *fan, step)
        view = _receiver_view(
            ray[mine] - first, r[mine], rx_indoor[mine], marched, tx_height_m, rx_height_m, step
        )
        los[mine], indoor_m[mine], crossed_m[mine] = view.los, view.indoor_m, view.crossed_m
    return Visibility(los=los, indoor_m=indoor_m, crossed_m=crossed_m)


def trace_paths(
    grid: HeightGrid,
    tx_x: float,
    tx_y: float,
    tx_height_m: float,
    rx_x: npt.ArrayLike,
    rx_y: npt.ArrayLike,
    rx_height_m: float = 1.5,
    *,
    step_m: float | None = None,
) -> Visibility:
    """Line of sight along the exact straight path to each receiver (one ray per receiver).

    Slower than :func:`visibility_disc` for a whole disc (memory grows with receivers ×
    samples) but exact in bearing: meant for scattered points such as demand points.

    Parameters
    ----------
    grid, tx_x, tx_y, tx_height_m, rx_x, rx_y, rx_height_m, step_m
        As for :func:`visibility_disc`.

    Returns
    -------
    Visibility
    """
    step = float(step_m or grid.resolution_m)
    dx = np.atleast_1d(np.asarray(rx_x, dtype=np.float64)) - tx_x
    dy = np.atleast_1d(np.asarray(rx_y, dtype=np.float64)) - tx_y
    r = np.hypot(dx, dy)
    safe = np.where(r > 0, r, 1.0)
    n_steps = max(1, math.ceil(float(r.max(initial=0.0)) / step))
    s = ((np.arange(n_steps) + 1.0) * (step / grid.resolution_m)).astype(np.float32)
    dcol = (dx / safe).astype(np.float32)[:, None] * s
    drow = -(dy / safe).astype(np.float32)[:, None] * s
    marched = _march(grid, tx_x, tx_y, tx_height_m, dcol, drow, step)
    rx_indoor = grid.sample(tx_x + dx, tx_y + dy) > 0
    ray = np.arange(r.size, dtype=np.intp)
    return _receiver_view(ray, r, rx_indoor, marched, tx_height_m, rx_height_m, step)


def reference_line_of_sight(
    buildings: Any,
    tx_x: float,
    tx_y: float,
    tx_height_m: float,
    rx_x: npt.ArrayLike,
    rx_y: npt.ArrayLike,
    rx_height_m: float = 1.5,
    height_column: str = "height_m",
) -> npt.NDArray[np.bool_]:
    """Straightforward vector-geometry line of sight: one shapely line per receiver.

    The reference the raster method is checked and benchmarked against: for each path, the
    buildings' STRtree gives the footprints the 2-D segment crosses, and the path is blocked
    when a footprint's roof is above the 3-D line where the segment leaves it. The same
    conventions apply (the receiver's and the transmitter's own buildings do not block).

    Parameters
    ----------
    buildings
        GeoDataFrame of footprints with a height column.
    tx_x, tx_y, tx_height_m, rx_x, rx_y, rx_height_m
        As for :func:`visibility_disc`.
    height_column
        Name of the height column.

    Returns
    -------
    ndarray of bool
        True where the path is clear.
    """
    import shapely
    from shapely.geometry import LineString, Point

    geoms = np.asarray(buildings.geometry.values)
    heights = buildings[height_column].to_numpy(dtype=np.float64)
    tree = shapely.STRtree(geoms)
    tx_point = Point(tx_x, tx_y)
    own_tx = set(tree.query(tx_point, predicate="intersects").tolist())
    xs = np.atleast_1d(np.asarray(rx_x, dtype=np.float64))
    ys = np.atleast_1d(np.asarray(rx_y, dtype=np.float64))
    out = np.ones(xs.size, dtype=bool)
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        line = LineString([(tx_x, tx_y), (x, y)])
        length = line.length
        if length == 0:
            continue
        own_rx = set(tree.query(Point(x, y), predicate="intersects").tolist())
        for j in tree.query(line, predicate="intersects"):
            if j in own_tx or j in own_rx:
                continue
            crossing = line.intersection(geoms[j])
            coords = shapely.get_coordinates(crossing)
            if len(coords) == 0:
                continue
            ts = [line.project(Point(c)) / length for c in coords]
            # the 3-D line is straight: its lowest point over the crossing is at one end
            lowest = min(tx_height_m + (rx_height_m - tx_height_m) * t for t in (min(ts), max(ts)))
            if heights[j] > lowest:
                out[i] = False
                break
    return out
