"""The per-transmitter raster evaluation behind :func:`villenum.coverage.raster.compute_coverage`.

Each transmitter is evaluated on the window of cells within range (line of sight, path loss,
indoor loss, antenna pattern) and folded into best-server and per-channel power accumulators.
Transmitters are split between worker threads (numpy releases the GIL inside its loops), each
with its own accumulators, merged at the end: memory stays one set of grids per worker plus
the per-site powers kept for the planner.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from villenum.coverage import propagation as prop
from villenum.coverage.los import HeightGrid, visibility_disc
from villenum.coverage.radio import Client
from villenum.errors import ValidityWarning

# per-site powers below this are not kept for the planner (well under any useful threshold)
KEEP_ABOVE_DBM = -110.0
# 3GPP UMi/UMa are defined from 10 m; closer cells take the 10 m value
MIN_DISTANCE_M = 10.0
MAX_INDOOR_M = 25.0

_HEIGHTS_CACHE: list[tuple[Any, tuple[float, ...], HeightGrid]] = []
_HEIGHTS_LOCK = threading.Lock()


def cached_heights(
    buildings: Any, bounds: tuple[float, float, float, float], pixel_m: float
) -> HeightGrid:
    """The buildings' height raster, kept for the last two building layers.

    The cache holds a reference to the layer itself, so an identity match cannot be a new
    object at a recycled address; planners that call compute_coverage repeatedly on the same
    city rasterise once.
    """
    key = (*bounds, pixel_m)
    with _HEIGHTS_LOCK:
        for layer, cached_key, grid in _HEIGHTS_CACHE:
            if layer is buildings and cached_key == key:
                return grid
    grid = HeightGrid.from_buildings(buildings, bounds, pixel_m)
    with _HEIGHTS_LOCK:
        _HEIGHTS_CACHE.insert(0, (buildings, key, grid))
        del _HEIGHTS_CACHE[2:]
    return grid


def path_loss(
    model: str,
    d2d_m: npt.NDArray[np.float64],
    frequency_mhz: float,
    h_tx_m: float,
    h_rx_m: float,
    los: npt.NDArray[np.bool_],
) -> npt.NDArray[np.float64]:
    """Median path loss of the chosen model over an array of horizontal distances (dB)."""
    f_ghz = frequency_mhz / 1000.0
    d = np.maximum(d2d_m, MIN_DISTANCE_M)
    if model == "umi":
        return prop.umi_street_canyon(d, f_ghz, h_tx_m, h_rx_m, los)
    if model == "uma":
        return prop.uma(d, f_ghz, h_tx_m, h_rx_m, los)
    if model == "p1411":
        d3 = np.hypot(d, h_tx_m - h_rx_m)
        # each Table 4 row starts at its own distance: clamp to it as for the 3GPP models
        d3 = np.where(los, np.maximum(d3, 5.0), np.maximum(d3, 30.0))
        return prop.p1411_site_general(d3, f_ghz, los, "urban_high_rise")
    # hata, chosen by band: Okumura-Hata to 1500 MHz, COST-231 to 2000 MHz, and UMa above,
    # where no Hata variant exists; Hata holds from 1 km and 30 m masts, shorter paths are
    # extrapolated with a ValidityWarning
    d_km = d / 1000.0
    if frequency_mhz <= 1500.0:
        return prop.okumura_hata(d_km, frequency_mhz, h_tx_m, h_rx_m, strict=False)
    if frequency_mhz <= 2000.0:
        return prop.cost231_hata(d_km, frequency_mhz, h_tx_m, h_rx_m, strict=False)
    return prop.uma(d, f_ghz, h_tx_m, h_rx_m, los)


@dataclass
class GridContext:
    """Everything shared by the transmitters of one computation."""

    left: float
    top: float
    resolution_m: float
    in_city: npt.NDArray[np.bool_]
    indoor: npt.NDArray[np.bool_]
    heights: HeightGrid
    max_range_m: float
    model: str
    client: Client
    o2i_model: str
    xs: npt.NDArray[np.float64] = field(init=False)
    ys: npt.NDArray[np.float64] = field(init=False)

    def __post_init__(self) -> None:
        rows, cols = self.in_city.shape
        self.xs = self.left + (np.arange(cols) + 0.5) * self.resolution_m
        self.ys = self.top - (np.arange(rows) + 0.5) * self.resolution_m

    def evaluate(self, tx: Any) -> tuple[Any, Any, Any] | None:
        """Cells in range of ``tx``: flat cell indices, received power (dBm, float32), LoS."""
        rows, cols = self.in_city.shape
        res = self.resolution_m
        span = math.ceil(self.max_range_m / res) + 1
        c_tx = int((tx.x - self.left) // res)
        r_tx = int((self.top - tx.y) // res)
        r0, r1 = max(0, r_tx - span), min(rows, r_tx + span + 1)
        c0, c1 = max(0, c_tx - span), min(cols, c_tx + span + 1)
        if r0 >= r1 or c0 >= c1:
            return None
        dx = self.xs[c0:c1][None, :] - tx.x
        dy = self.ys[r0:r1][:, None] - tx.y
        d2 = np.hypot(dx, dy)
        wr, wc = np.nonzero((d2 <= self.max_range_m) & self.in_city[r0:r1, c0:c1])
        if wr.size == 0:
            return None
        gr, gc = wr + r0, wc + c0
        cells = gr * cols + gc
        client = self.client
        cell_indoor = self.indoor.reshape(-1)[cells]
        vis = visibility_disc(
            self.heights,
            tx.x,
            tx.y,
            tx.height_m,
            self.xs[gc],
            self.ys[gr],
            client.height_m,
            max_range_m=self.max_range_m,
            ray_spacing_m=res,
            rx_indoor=cell_indoor,
        )
        dist = d2[wr, wc]
        loss = path_loss(self.model, dist, tx.frequency_mhz, tx.height_m, client.height_m, vis.los)
        if cell_indoor.any():
            through_wall = float(
                prop.o2i_penetration_loss(tx.frequency_mhz / 1000.0, self.o2i_model)
            )
            # TR 38.901 draws the indoor distance up to 25 m; deeper cells are capped there
            indoor_m = np.minimum(vis.indoor_m, MAX_INDOOR_M)
            loss = loss + np.where(cell_indoor, through_wall + 0.5 * indoor_m, 0.0)
        rx = tx.effective_eirp_dbm + client.antenna_gain_dbi - loss
        if getattr(tx, "azimuth_deg", None) is not None:
            # compass bearing (clockwise from north) and depression angle seen from the antenna
            azimuth = np.degrees(np.arctan2(dx[0, wc], dy[wr, 0]))
            elevation = np.degrees(np.arctan2(tx.height_m - client.height_m, np.maximum(dist, 1)))
            rx = rx + tx.relative_gain_db(azimuth, elevation)
        return cells, rx.astype(np.float32), vis.los


class Accumulator:
    """Best server and per-channel total power over the grid, plus the kept per-site powers."""

    def __init__(self, shape: tuple[int, int], n_channels: int) -> None:
        self.best = np.full(shape, -np.inf, dtype=np.float32)
        self.server = np.full(shape, -1, dtype=np.int32)
        self.best_los = np.zeros(shape, dtype=bool)
        self.channel_mw = np.zeros((n_channels, *shape), dtype=np.float32)
        # per transmitter: flat cell indices and received powers above KEEP_ABOVE_DBM
        self.columns: dict[int, tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]] = {}

    def add(self, index: int, channel: int, cells: Any, rx: Any, los: Any) -> None:
        best = self.best.reshape(-1)  # views: the flat cell indices address them directly
        better = rx > best[cells]
        won = cells[better]
        best[won] = rx[better]
        self.server.reshape(-1)[won] = index
        self.best_los.reshape(-1)[won] = los[better]
        self.channel_mw[channel].reshape(-1)[cells] += np.power(
            np.float32(10.0), rx / np.float32(10.0)
        )
        keep = rx >= KEEP_ABOVE_DBM
        self.columns[index] = (cells[keep].astype(np.int32), rx[keep])

    def merge(self, other: Accumulator) -> None:
        better = other.best > self.best
        self.best = np.where(better, other.best, self.best)
        self.server = np.where(better, other.server, self.server)
        self.best_los = np.where(better, other.best_los, self.best_los)
        self.channel_mw += other.channel_mw
        self.columns.update(other.columns)

    def site_matrix(self, n_sites: int) -> Any:
        """Kept powers as a CSC matrix (cells × transmitters), stored as dBm − KEEP + 1 > 0.

        Built column by column in transmitter order, so no sort and one copy of the data.
        """
        import scipy.sparse as sp

        empty = (np.zeros(0, np.int32), np.zeros(0, np.float32))
        parts = [self.columns.pop(i, empty) for i in range(n_sites)]
        indptr = np.zeros(n_sites + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([p[0].size for p in parts])
        indices = np.concatenate([p[0] for p in parts])
        data = np.concatenate([p[1] for p in parts]) - np.float32(KEEP_ABOVE_DBM - 1.0)
        del parts
        return sp.csc_matrix((data, indices, indptr), shape=(self.best.size, n_sites))


def run(
    ctx: GridContext,
    transmitters: Sequence[Any],
    channel_of: Sequence[int],
    n_channels: int,
    workers: int,
    progress: bool,
) -> Accumulator:
    """Evaluate every transmitter, in ``workers`` threads, and merge their accumulators."""
    from tqdm import tqdm

    shape = ctx.in_city.shape
    bar = tqdm(
        total=len(transmitters), desc="coverage", unit="site", disable=not progress, leave=False
    )
    lock = threading.Lock()

    def work(indices: range) -> Accumulator:
        acc = Accumulator(shape, n_channels)
        for i in indices:
            evaluated = ctx.evaluate(transmitters[i])
            if evaluated is not None:
                acc.add(i, channel_of[i], *evaluated)
            with lock:
                bar.update(1)
        return acc

    n = len(transmitters)
    workers = max(1, min(workers, n))
    # interleaved slices: neighbouring (similar-cost) sites go to different workers
    chunks = [range(w, n, workers) for w in range(workers)]
    with warnings.catch_warnings():
        warnings.simplefilter("once", ValidityWarning)
        if workers == 1:
            parts = [work(chunks[0])]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                parts = list(pool.map(work, chunks))
    bar.close()
    total = parts[0]
    for part in parts[1:]:
        total.merge(part)
    return total
