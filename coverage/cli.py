"""``villenum coverage``: Wi-Fi and 4G coverage rasters, per-zone statistics, fibre eligibility.

Heavy libraries are imported inside the commands so that ``villenum --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from villenum.cliutil import add_command, add_group

WIFI_THRESHOLDS = (-67.0, -70.0, -75.0)
LTE_THRESHOLDS = (-95.0, -105.0, -115.0)  # RSRP: good, fair, edge of service


def register(groups: Any) -> None:
    """Add the ``coverage`` command group."""
    commands = add_group(
        groups, "coverage", "Radio coverage: Wi-Fi and 4G rasters, zone statistics, fibre"
    )

    wifi = add_command(
        commands,
        "wifi",
        _wifi,
        "Wi-Fi coverage of access points (GeoJSON): writes a GeoTIFF and a per-zone CSV",
    )
    wifi.add_argument(
        "--sites",
        required=True,
        type=Path,
        help="GeoJSON Point features (WGS84); optional properties id, height_m (6), band, "
        "eirp_dbm (legal maximum), channel, channel_width_mhz",
    )
    wifi.add_argument("--band", choices=("2.4", "5"), default="5", help="default band (GHz)")
    wifi.add_argument("--resolution", type=float, default=5.0, help="cell size in m (5)")
    wifi.add_argument(
        "--range", dest="range_m", type=float, default=300.0, help="evaluation radius in m (300)"
    )
    wifi.add_argument(
        "--model",
        choices=("auto", "umi", "p1411"),
        default="auto",
        help="path loss: TR 38.901 UMi street canyon (auto) or ITU-R P.1411 site-general",
    )
    _common(wifi, WIFI_THRESHOLDS)

    lte = add_command(
        commands,
        "lte",
        _lte,
        "4G coverage of LTE sectors from an ANFR antenna CSV: writes a GeoTIFF and a per-zone CSV",
    )
    lte.add_argument(
        "--sites",
        required=True,
        type=Path,
        help="ANFR extract (CSV, one row per emitter and antenna: STA_NM_ANFR, EMR_LB_SYSTEME, "
        "AER_NB_AZIMUT, AER_NB_ALT_BAS, COR_* coordinates)",
    )
    lte.add_argument("--resolution", type=float, default=10.0, help="cell size in m (10)")
    lte.add_argument(
        "--range", dest="range_m", type=float, default=2500.0, help="evaluation radius in m (2500)"
    )
    lte.add_argument(
        "--model",
        choices=("auto", "uma", "hata"),
        default="auto",
        help="path loss: TR 38.901 UMa (auto) or Hata by band (Okumura-Hata, COST-231, UMa)",
    )
    _common(lte, LTE_THRESHOLDS)

    zones = add_command(
        commands, "zones", _zones, "Per-zone coverage shares of a coverage GeoTIFF (CSV)"
    )
    zones.add_argument("raster", type=Path, metavar="RESULT.tif")
    zones.add_argument(
        "--city", help="city name or folder (default: the one the raster was computed on)"
    )
    zones.add_argument(
        "--thresholds", type=float, nargs="+", help="dBm (default by quantity: Wi-Fi or RSRP)"
    )
    zones.add_argument("--out", type=Path, help="CSV path (default: RESULT_zones.csv)")

    fibre = add_command(
        commands,
        "fibre",
        _fibre,
        "Per-building FttH eligibility from a fibre-route layer, by distance along streets",
    )
    fibre.add_argument("--routes", required=True, type=Path, help="fibre routes (GeoJSON lines)")
    fibre.add_argument(
        "--max-distance", type=float, default=100.0, help="m along streets from a route (100)"
    )
    fibre.add_argument("--city", default="biarritz", help="city name or folder (biarritz)")
    fibre.add_argument("--out", required=True, type=Path, help="output folder")


def _common(parser: argparse.ArgumentParser, thresholds: Sequence[float]) -> None:
    parser.add_argument("--city", default="biarritz", help="city name or folder (biarritz)")
    parser.add_argument(
        "--thresholds",
        type=float,
        nargs="+",
        default=list(thresholds),
        help=f"downlink levels (dBm) for the zone table ({' '.join(f'{t:g}' for t in thresholds)})",
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument(
        "--map", action="store_true", help="also write an offline HTML map of the result"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


@contextmanager
def _one_line_warnings() -> Iterator[None]:
    """Show model-validity warnings as single lines on stderr (and each only once)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for message in dict.fromkeys(str(w.message) for w in caught):
        print(f"villenum: warning: {message}", file=sys.stderr)


def _load_city(name: str) -> Any:
    from villenum.data import load_city

    return load_city(name)


def _run(args: argparse.Namespace, kind: str, sites: list[Any], thresholds: Sequence[float]) -> int:
    from villenum.coverage.raster import check_grid, compute_coverage
    from villenum.coverage.stats import zone_stats

    check_grid(args.resolution, args.range_m)  # before the slow city load
    city = _load_city(args.city)
    with _one_line_warnings():
        result = compute_coverage(
            city,
            sites,
            resolution_m=args.resolution,
            max_range_m=args.range_m,
            model=args.model,
            progress=not args.no_progress,
        )
    tif = result.to_geotiff(args.out / f"{kind}_coverage.tif")
    table = zone_stats(city, result, thresholds, args.out / f"{kind}_zones.csv")
    _report(kind, len(sites), result, table, tif, args.out / f"{kind}_zones.csv", thresholds)
    if args.map:
        from villenum.coverage.mapview import coverage_map
        from villenum.maps.offline import save_map

        m = coverage_map(city, tif, sites, table, quantity=result.quantity)
        print(f"wrote {save_map(m, args.out / f'{kind}_coverage.html')}")
    return 0


def _report(
    kind: str,
    n_sites: int,
    result: Any,
    table: Any,
    tif: Path,
    csv: Path,
    thresholds: Sequence[float],
) -> None:
    total = table.iloc[-1]
    print(f"{kind}: {n_sites} transmitter(s), model {result.model}, {result.quantity} in dBm")
    for t in thresholds:
        label = f"{t:g}dBm"
        print(
            f"  ≥ {t:g} dBm with uplink: {total[f'area_share_{label}']:.1%} of the area, "
            f"{total[f'residents_share_{label}']:.1%} of residents, "
            f"{total[f'visitors_share_{label}']:.1%} of peak visitors"
        )
    for note in result.notes:
        print(f"  note: {note}")
    print(f"wrote {tif}")
    print(f"wrote {csv}")


def _wifi(args: argparse.Namespace) -> int:
    from villenum.coverage.sites import read_wifi_sites

    return _run(args, "wifi", read_wifi_sites(args.sites, band=args.band), args.thresholds)


def _lte(args: argparse.Namespace) -> int:
    from villenum.coverage.lte import read_anfr_sites

    return _run(args, "lte", read_anfr_sites(args.sites), args.thresholds)


def _zones(args: argparse.Namespace) -> int:
    from villenum.coverage.raster import CoverageResult
    from villenum.coverage.stats import zone_stats

    result = CoverageResult.from_geotiff(args.raster)
    thresholds = args.thresholds or (
        LTE_THRESHOLDS if result.quantity == "RSRP" else WIFI_THRESHOLDS
    )
    out = args.out or args.raster.with_name(f"{args.raster.stem}_zones.csv")
    city = _load_city(args.city or result.city_source or "biarritz")
    table = zone_stats(city, result, thresholds, out)
    columns = ["zone_id", "name"] + [c for c in table.columns if c.startswith("area_share_")]
    print(table[columns].to_string(index=False, float_format=lambda v: f"{v:.1%}"))
    print(f"wrote {out}")
    return 0


def _fibre(args: argparse.Namespace) -> int:
    from villenum.coverage.fibre import fibre_eligibility, read_routes, zone_fibre_table

    city = _load_city(args.city)
    routes = read_routes(args.routes, city.crs)
    buildings = fibre_eligibility(city, routes, args.max_distance)
    args.out.mkdir(parents=True, exist_ok=True)
    table = zone_fibre_table(city, buildings, args.out / "fibre_zones.csv")
    total = table.iloc[-1]
    print(
        f"fibre: {total['eligible_share']:.1%} of buildings within {args.max_distance:g} m of a "
        f"route along streets ({int(total['eligible'])} of {int(total['buildings'])})"
    )
    if city.fibre is not None:
        f = city.fibre
        print(
            f"  ARCEP {f.latest_quarter}: {f.connectable[f.latest_quarter]} premises connectable "
            f"to FttH of {f.premises} ({f.latest_share:.1%}), commune-wide ({f.source})"
        )
    print(f"wrote {args.out / 'fibre_zones.csv'}")
    return 0
