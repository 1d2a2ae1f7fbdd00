"""Coverage rasters: best-server power, SINR, uplink margin and line of sight per grid cell.

:func:`compute_coverage` evaluates every transmitter on the cells of a regular grid over the
city (EPSG:2154) within ``max_range_m``, receivers 1.5 m above ground. Line of sight comes from
the buildings (:mod:`villenum.coverage.los`); cells inside buildings get the outdoor-to-indoor
loss of TR 38.901 §7.4.3 (through the facade, plus 0.5 dB per metre indoors). Transmitters on
the same channel interfere (co-channel only, all transmitting: a worst case); the SINR of a
cell is that of its best server.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import shapely

from villenum.coverage import _engine
from villenum.coverage._engine import KEEP_ABOVE_DBM
from villenum.coverage.radio import Client, achievable_mcs, data_rate_mbps
from villenum.errors import CoverageError

log = logging.getLogger(__name__)

MODELS = ("auto", "umi", "uma", "p1411", "hata")
NODATA = -9999.0
# sites may stand this far outside the boundary (a pier, a roof across the border street)
SITE_TOLERANCE_M = 100.0


class Source(Protocol):
    """What :func:`compute_coverage` needs from a transmitter (Wi-Fi AP or LTE sector)."""

    x: float
    y: float
    height_m: float
    site_id: str

    @property
    def frequency_mhz(self) -> float: ...
    @property
    def effective_eirp_dbm(self) -> float: ...
    @property
    def channel_key(self) -> tuple[str, int]: ...
    @property
    def noise_floor_dbm(self) -> float: ...
    def uplink_offset_db(self, client: Client) -> float: ...
    def relative_gain_db(
        self, azimuth_deg: npt.NDArray[np.float64], elevation_deg: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]: ...


@dataclass
class CoverageResult:
    """Per-cell coverage of a set of transmitters on a north-up grid.

    Attributes
    ----------
    rx_dbm
        Best-server received power (dBm; RSRP for LTE), NaN where no transmitter is in range.
    server
        Index of the best server in ``transmitters``, −1 where none.
    sinr_db
        SINR of the best server with co-channel interference (dB).
    uplink_margin_db
        Uplink received power at the best server minus its sensitivity (dB); ≥ 0 closes.
    los
        1 where the best server is in line of sight, 0 where not, −1 out of range.
    indoor
        True for cells whose centre is inside a building.
    mcs
        Highest Wi-Fi MCS the downlink supports (−1: none); all −1 for LTE.
    rate_mbps
        802.11ax PHY rate of that MCS on the server's channel width, one spatial stream
        (Mbit/s; 0 where no MCS decodes, and for LTE).
    left, top, resolution_m, crs
        Grid placement.
    transmitters
        The transmitters, in server-index order.
    site_power
        CSC matrix (cells × transmitters): each transmitter's received power in dBm plus
        ``-KEEP_ABOVE_DBM + 1`` (so every stored value is > 0), kept above ``KEEP_ABOVE_DBM``;
        ``None`` for a result read back from a GeoTIFF.
    uplink_offset_db
        Per transmitter: uplink margin minus downlink power on the same path (dB).
    demand
        Demand points used by default by :meth:`sparse_coverage`.
    quantity
        What ``rx_dbm`` is ("received power" or "RSRP").
    model
        Propagation model used.
    notes
        Data caveats and model assumptions, to show with the result.
    city_source
        Folder of the city model the result was computed on (for ``coverage zones``).
    """

    rx_dbm: npt.NDArray[np.float32]
    server: npt.NDArray[np.int32]
    sinr_db: npt.NDArray[np.float32]
    uplink_margin_db: npt.NDArray[np.float32]
    los: npt.NDArray[np.int8]
    indoor: npt.NDArray[np.bool_]
    mcs: npt.NDArray[np.int8]
    rate_mbps: npt.NDArray[np.float32]
    left: float
    top: float
    resolution_m: float
    crs: str = "EPSG:2154"
    transmitters: list[Any] = field(default_factory=list)
    site_power: sp.csc_matrix | None = None
    uplink_offset_db: npt.NDArray[np.float64] | None = None
    demand: Any = None
    quantity: str = "received power"
    model: str = ""
    notes: list[str] = field(default_factory=list)
    city_source: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        """Grid shape (rows, cols)."""
        return self.rx_dbm.shape  # type: ignore[return-value]

    @property
    def transform(self) -> Any:
        """Affine transform of the grid (rasterio convention)."""
        from affine import Affine

        return Affine(self.resolution_m, 0.0, self.left, 0.0, -self.resolution_m, self.top)

    def covered(self, threshold_dbm: float) -> npt.NDArray[np.bool_]:
        """Cells where the downlink reaches ``threshold_dbm`` and the uplink closes."""
        with np.errstate(invalid="ignore"):
            return (self.rx_dbm >= threshold_dbm) & (self.uplink_margin_db >= 0)

    def cell_index(self, x: npt.ArrayLike, y: npt.ArrayLike) -> npt.NDArray[np.intp]:
        """Flat cell index of points (−1 outside the grid)."""
        col = np.floor((np.asarray(x, dtype=np.float64) - self.left) / self.resolution_m)
        row = np.floor((self.top - np.asarray(y, dtype=np.float64)) / self.resolution_m)
        rows, cols = self.shape
        inside = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
        return np.where(inside, row * cols + col, -1).astype(np.intp)

    def sample(self, x: npt.ArrayLike, y: npt.ArrayLike, band: str = "rx_dbm") -> Any:
        """Values of one band (attribute name) at points; NaN/−1 outside the grid."""
        values = getattr(self, band)
        idx = self.cell_index(x, y)
        flat = values.reshape(-1)
        fill = np.nan if np.issubdtype(flat.dtype, np.floating) else -1
        return np.where(idx >= 0, flat[np.maximum(idx, 0)], fill)

    def sparse_coverage(self, threshold_dbm: float, demand: Any = None) -> sp.csr_matrix:
        """Which transmitters cover which demand points, for the placement planner.

        Parameters
        ----------
        threshold_dbm
            Downlink level a point needs (dBm), e.g. −75; must be ≥ ``KEEP_ABOVE_DBM``.
        demand
            GeoDataFrame of points in the grid's CRS; default the city's demand points.

        Returns
        -------
        scipy.sparse.csr_matrix
            Boolean matrix (demand points × transmitters), in the order of ``demand`` and
            ``transmitters``; True where the transmitter's downlink at the point's cell is at
            least ``threshold_dbm`` **and** its uplink closes. Points outside the grid have
            empty rows.

        Raises
        ------
        CoverageError
            For a result without per-site powers (read back from a GeoTIFF), a threshold below
            what was kept, or demand points in another CRS.
        """
        if self.site_power is None or self.uplink_offset_db is None:
            raise CoverageError(
                "this coverage result has no per-site powers (it was read from a GeoTIFF); "
                "recompute it with compute_coverage"
            )
        if threshold_dbm < KEEP_ABOVE_DBM:
            raise CoverageError(
                f"threshold {threshold_dbm} dBm is below the {KEEP_ABOVE_DBM} dBm kept per site"
            )
        points = self.demand if demand is None else demand
        if points is None:
            raise CoverageError("no demand points given and the result has none")
        if getattr(points, "crs", None) is not None and points.crs != self.crs:
            raise CoverageError(f"demand points are in {points.crs}, not {self.crs}")
        idx = self.cell_index(points.geometry.x.to_numpy(), points.geometry.y.to_numpy())
        n_sites = self.site_power.shape[1]
        rows = self.site_power[np.maximum(idx, 0)].tocoo()
        power = rows.data - (-KEEP_ABOVE_DBM + 1.0)
        keep = (
            (idx[rows.row] >= 0)
            & (power >= threshold_dbm)
            & (power + self.uplink_offset_db[rows.col] >= 0)
        )
        return sp.csr_matrix(
            (np.ones(int(keep.sum()), dtype=bool), (rows.row[keep], rows.col[keep])),
            shape=(len(idx), n_sites),
        )

    def to_geotiff(self, path: str | Path) -> Path:
        """Write a tiled, DEFLATE-compressed float32 GeoTIFF (EPSG:2154, nodata −9999).

        Band 1 is the best-server received power (dBm); then best-server index, SINR (dB),
        uplink margin (dB), line of sight (1/0), indoor (1/0), Wi-Fi MCS and PHY rate. Every
        band has a description and a ``units`` tag; the dataset tags name the model and the
        transmitters.

        Parameters
        ----------
        path
            Output file; its folder is created if needed.

        Returns
        -------
        Path
            The written file.
        """
        import rasterio
        from rasterio.enums import Resampling

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        valid = np.isfinite(self.rx_dbm)
        bands = [
            (self.rx_dbm, f"best-server {self.quantity} (dBm)", "dBm"),
            (self.server, "best-server index (0-based, see tag transmitters)", "index"),
            (self.sinr_db, "best-server SINR with co-channel interference (dB)", "dB"),
            (self.uplink_margin_db, "uplink margin at best server (dB, >= 0 closes)", "dB"),
            (self.los, "best server in line of sight (1) or not (0)", "flag"),
            (self.indoor, "cell centre inside a building (1) or outdoors (0)", "flag"),
            (self.mcs, "highest Wi-Fi MCS of the downlink (-1 none)", "index"),
            (self.rate_mbps, "Wi-Fi downlink PHY rate, 1 spatial stream (Mbit/s)", "Mbit/s"),
        ]
        rows, cols = self.shape
        block = 256 if min(rows, cols) >= 256 else 16 * max(1, min(rows, cols) // 16)
        profile = {
            "driver": "GTiff",
            "height": rows,
            "width": cols,
            "count": len(bands),
            "dtype": "float32",
            "crs": self.crs,
            "transform": self.transform,
            "nodata": NODATA,
            "compress": "deflate",
            "predictor": 3,
            "tiled": block >= 16,
            "blockxsize": max(16, block),
            "blockysize": max(16, block),
        }
        sites = ";".join(
            f"{i}:{getattr(t, 'site_id', '') or i}" for i, t in enumerate(self.transmitters)
        )
        # written beside the target and renamed: an interrupted run never leaves half a file
        partial = path.with_name(f".{path.name}.partial")
        with rasterio.open(partial, "w", **profile) as dst:
            for i, (values, description, units) in enumerate(bands, start=1):
                data = np.where(valid, values.astype(np.float32), np.float32(NODATA))
                dst.write(data.astype(np.float32), i)
                dst.set_band_description(i, description)
                dst.update_tags(i, units=units)
            # overviews for quick display in QGIS; nearest keeps indices and flags exact
            factors = [f for f in (2, 4, 8, 16) if min(rows, cols) // f >= 64]
            if factors:
                dst.build_overviews(factors, Resampling.nearest)
            dst.update_tags(
                quantity=self.quantity,
                model=self.model,
                transmitters=sites,
                notes=" | ".join(self.notes),
                software="villenum",
                city_source=self.city_source,
            )
        os.replace(partial, path)
        return path

    @classmethod
    def from_geotiff(cls, path: str | Path) -> CoverageResult:
        """Read back a GeoTIFF written by :meth:`to_geotiff` (without per-site powers).

        Raises
        ------
        CoverageError
            If the file is missing, not a GeoTIFF, or not a villenum coverage raster.
        """
        import rasterio
        from rasterio.errors import RasterioIOError

        path = Path(path)
        if not path.is_file():
            raise CoverageError(f"coverage raster not found: {path}")
        try:
            with rasterio.open(path) as src:
                if src.count < 8 or src.tags().get("software") != "villenum":
                    raise CoverageError(f"{path} is not a villenum coverage GeoTIFF")
                data = src.read().astype(np.float32)
                tags = src.tags()
                crs = src.crs.to_string() if src.crs else ""
                transform = src.transform
        except RasterioIOError as exc:
            raise CoverageError(f"cannot read {path} as a GeoTIFF: {exc}") from None
        nodata = data[0] == NODATA
        rx = np.where(nodata, np.nan, data[0]).astype(np.float32)

        def as_int(band: npt.NDArray[np.float32], dtype: Any) -> Any:
            return np.where(nodata, -1, band).astype(dtype)

        return cls(
            rx_dbm=rx,
            server=as_int(data[1], np.int32),
            sinr_db=np.where(nodata, np.nan, data[2]).astype(np.float32),
            uplink_margin_db=np.where(nodata, np.nan, data[3]).astype(np.float32),
            los=as_int(data[4], np.int8),
            indoor=data[5] == 1,
            mcs=as_int(data[6], np.int8),
            rate_mbps=np.where(nodata, 0.0, data[7]).astype(np.float32),
            left=float(transform.c),
            top=float(transform.f),
            resolution_m=float(transform.a),
            crs=crs,
            quantity=tags.get("quantity", "received power"),
            model=tags.get("model", ""),
            notes=[n for n in tags.get("notes", "").split(" | ") if n],
            city_source=tags.get("city_source", ""),
        )


def check_grid(resolution_m: float, max_range_m: float) -> None:
    """Refuse a non-positive cell size or a range not larger than one cell.

    Raises
    ------
    CoverageError
        With the offending values.
    """
    if not resolution_m > 0 or not max_range_m > resolution_m:
        raise CoverageError(
            f"resolution ({resolution_m} m) must be > 0 and below the range ({max_range_m} m)"
        )


def _check_frequencies(model: str, transmitters: Sequence[Source]) -> None:
    for tx in transmitters:
        f = tx.frequency_mhz
        name = tx.site_id or "?"
        if model == "hata" and not hasattr(tx, "azimuth_deg"):
            raise CoverageError(
                f"site {name}: Hata models are for macro cells (150–2000 MHz), not {f:g} MHz "
                "Wi-Fi access points; use model 'umi' or 'p1411'"
            )
        if model == "hata" and f < 150.0:
            raise CoverageError(f"site {name}: no Hata model covers {f:g} MHz (from 150 MHz)")
        if model in ("umi", "uma") and not 500.0 <= f <= 100_000.0:
            raise CoverageError(f"site {name}: {f:g} MHz is outside TR 38.901 (0.5–100 GHz)")
        if model == "p1411" and not 800.0 <= f <= 82_000.0:
            raise CoverageError(f"site {name}: {f:g} MHz is outside P.1411 Table 4 (0.8–82 GHz)")


def _grid_for(city: Any, resolution_m: float) -> tuple[float, float, int, int]:
    minx, miny, maxx, maxy = city.boundary.total_bounds
    left = math.floor(minx / resolution_m) * resolution_m
    top = math.ceil(maxy / resolution_m) * resolution_m
    cols = math.ceil((maxx - left) / resolution_m)
    rows = math.ceil((top - miny) / resolution_m)
    return left, top, rows, cols


def _check_sites(city: Any, transmitters: Sequence[Source]) -> None:
    if len(transmitters) == 0:
        raise CoverageError("no transmitters given: the site list is empty")
    kinds = {hasattr(t, "azimuth_deg") for t in transmitters}
    if len(kinds) > 1:
        raise CoverageError("Wi-Fi access points and LTE sectors cannot be mixed in one raster")
    if getattr(city, "crs", "EPSG:2154") != "EPSG:2154":
        raise CoverageError(f"the city model is in {city.crs}; coverage needs EPSG:2154")
    area = city.boundary.union_all()
    xs = np.array([t.x for t in transmitters], dtype=np.float64)
    ys = np.array([t.y for t in transmitters], dtype=np.float64)
    if not np.all(np.isfinite(xs) & np.isfinite(ys)):
        raise CoverageError("a transmitter has a non-finite position")
    distance = shapely.distance(area, shapely.points(xs, ys))
    outside = np.flatnonzero(distance > SITE_TOLERANCE_M)
    if outside.size:
        tx = transmitters[int(outside[0])]
        hint = (
            " (are its coordinates WGS84 degrees instead of EPSG:2154 metres?)"
            if (abs(tx.x) < 1000 and abs(tx.y) < 1000)
            else ""
        )
        raise CoverageError(
            f"site {tx.site_id or int(outside[0])} at ({tx.x:.1f}, {tx.y:.1f}) is "
            f"{distance[outside[0]]:.0f} m outside {getattr(city, 'name', 'the city')}{hint}"
        )


def compute_coverage(
    city: Any,
    transmitters: Sequence[Source],
    resolution_m: float = 5.0,
    max_range_m: float = 300.0,
    model: str = "auto",
    *,
    client: Client | None = None,
    o2i_model: str = "low",
    los_resolution_m: float | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> CoverageResult:
    """Compute the coverage of transmitters over the city on a regular grid.

    Parameters
    ----------
    city
        A :class:`villenum.data.City` (EPSG:2154): ``boundary``, ``buildings`` (``height_m``)
        and ``demand`` are used.
    transmitters
        Wi-Fi :class:`~villenum.coverage.radio.Transmitter` or LTE
        :class:`~villenum.coverage.lte.LteSector` objects, positions in EPSG:2154.
    resolution_m
        Grid cell size (m).
    max_range_m
        Cells farther than this from a transmitter get nothing from it (m).
    model
        ``"auto"`` (UMi street canyon for Wi-Fi, UMa for LTE), ``"umi"``, ``"uma"``,
        ``"p1411"`` (site-general, urban high-rise rows) or ``"hata"`` for LTE, by band
        (Okumura-Hata to 1500 MHz, COST-231 to 2000 MHz, UMa above where no Hata variant
        exists; extrapolated below 1 km and 30 m masts with a ValidityWarning).
    client
        The terminal; default a phone at 1.5 m with 15 dBm (Wi-Fi) or 23 dBm (LTE).
    o2i_model
        TR 38.901 building penetration model for indoor cells, ``"low"`` or ``"high"``.
    los_resolution_m
        Pixel of the building-height raster (m); default ``min(2.5, resolution_m / 2)``.
    workers
        Threads evaluating transmitters; default the number of CPUs.
    progress
        Show a progress bar on stderr.

    Returns
    -------
    CoverageResult

    Raises
    ------
    CoverageError
        An empty site list, a site more than 100 m outside the city boundary, a wrong CRS,
        a frequency no model covers, Wi-Fi and LTE mixed, a non-positive resolution or
        range, or no city cell within range of any transmitter (never an all-NaN raster).
    """
    check_grid(resolution_m, max_range_m)
    transmitters = list(transmitters)  # any iterable; its order gives the server indices
    _check_sites(city, transmitters)
    is_lte = all(hasattr(t, "azimuth_deg") for t in transmitters)
    if model not in MODELS:
        raise CoverageError(f"model must be one of {', '.join(MODELS)}, not {model!r}")
    if model == "auto":
        model = "uma" if is_lte else "umi"
    _check_frequencies(model, transmitters)
    client = client or Client(eirp_dbm=23.0 if is_lte else 15.0)

    left, top, rows, cols = _grid_for(city, resolution_m)
    pixel = los_resolution_m or min(2.5, resolution_m / 2)
    margin = max_range_m + resolution_m
    bottom, right = top - rows * resolution_m, left + cols * resolution_m
    heights = _engine.cached_heights(
        city.buildings, (left - margin, bottom - margin, right + margin, top + margin), pixel
    )
    in_city = _inside_mask(city, left, top, resolution_m, rows, cols)
    ctx = _engine.GridContext(
        left=left,
        top=top,
        resolution_m=resolution_m,
        in_city=in_city,
        indoor=np.zeros((rows, cols), dtype=bool),
        heights=heights,
        max_range_m=max_range_m,
        model=model,
        client=client,
        o2i_model=o2i_model,
    )
    rr, cc = np.nonzero(in_city)
    ctx.indoor[rr, cc] = heights.sample(ctx.xs[cc], ctx.ys[rr]) > 0
    indoor = ctx.indoor

    keys = sorted({t.channel_key for t in transmitters})
    key_index = {k: i for i, k in enumerate(keys)}
    tx_key = np.array([key_index[t.channel_key] for t in transmitters])
    offsets = np.array([t.uplink_offset_db(client) for t in transmitters], dtype=np.float64)
    acc = _engine.run(
        ctx, transmitters, tx_key.tolist(), len(keys), workers or os.cpu_count() or 1, progress
    )
    best, server, best_los = acc.best, acc.server, acc.best_los

    covered_any = server >= 0
    if not covered_any.any():
        raise CoverageError(
            f"no cell of {getattr(city, 'name', 'the city')} is within {max_range_m:g} m of a "
            "transmitter: nothing to compute"
        )
    log.info(
        "coverage: %d transmitter(s), model %s, %d of %d city cells in range",
        len(transmitters),
        model,
        int(covered_any.sum()),
        int(in_city.sum()),
    )
    rx_dbm = np.where(covered_any, best, np.nan).astype(np.float32)
    sinr = np.full((rows, cols), np.nan, dtype=np.float32)
    uplink = np.full((rows, cols), np.nan, dtype=np.float32)
    mcs = np.full((rows, cols), -1, dtype=np.int8)
    rate = np.zeros((rows, cols), dtype=np.float32)
    noise = np.array([t.noise_floor_dbm for t in transmitters], dtype=np.float64)
    rr, cc = np.nonzero(covered_any)
    srv = server[rr, cc]
    signal_mw = np.power(10.0, best[rr, cc].astype(np.float64) / 10.0)
    total_mw = acc.channel_mw[tx_key[srv], rr, cc].astype(np.float64)
    interference_mw = np.maximum(total_mw - signal_mw, 0.0)
    sinr[rr, cc] = best[rr, cc] - 10.0 * np.log10(interference_mw + 10.0 ** (noise[srv] / 10.0))
    uplink[rr, cc] = best[rr, cc] + offsets[srv]
    if not is_lte:
        widths = np.array([t.channel_width_mhz for t in transmitters])
        for width in np.unique(widths):
            m = widths[srv] == width
            cell_mcs = achievable_mcs(best[rr[m], cc[m]], int(width), sinr[rr[m], cc[m]])
            mcs[rr[m], cc[m]] = cell_mcs
            rate[rr[m], cc[m]] = data_rate_mbps(cell_mcs, int(width))
    los_band = np.where(covered_any, best_los.astype(np.int8), np.int8(-1))

    site_power = acc.site_matrix(len(transmitters))
    notes = list(getattr(city, "notes", []))
    notes.append(
        "terrain is taken as flat (no DEM offline); median path loss, no shadow-fading margin"
    )
    if model == "hata" and any(t.frequency_mhz > 2000.0 for t in transmitters):
        notes.append("bands above 2 GHz use TR 38.901 UMa: no Hata variant covers them")
    if is_lte:
        notes.append(
            "LTE powers, tilts and gains are assumptions (ANFR does not publish them); "
            "RSRP with every co-channel sector transmitting (full load)"
        )
    return CoverageResult(
        rx_dbm=rx_dbm,
        server=server,
        sinr_db=sinr,
        uplink_margin_db=uplink,
        los=los_band,
        indoor=indoor,
        mcs=mcs,
        rate_mbps=rate,
        left=left,
        top=top,
        resolution_m=resolution_m,
        crs="EPSG:2154",
        transmitters=list(transmitters),
        site_power=site_power,
        uplink_offset_db=offsets,
        demand=getattr(city, "demand", None),
        quantity="RSRP" if is_lte else "received power",
        model=model,
        notes=notes,
        city_source=str(getattr(city, "source_dir", "")),
    )


def _inside_mask(
    city: Any, left: float, top: float, resolution_m: float, rows: int, cols: int
) -> npt.NDArray[np.bool_]:
    """Cells whose centre lies inside the city boundary."""
    from affine import Affine
    from rasterio.features import rasterize

    return rasterize(
        ((geom, 1) for geom in city.boundary.geometry),
        out_shape=(rows, cols),
        transform=Affine(resolution_m, 0.0, left, 0.0, -resolution_m, top),
        fill=0,
        dtype="uint8",
    ).astype(bool)
