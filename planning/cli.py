"""``villenum plan``: access-point placement with fibre backhaul, and 4G gap analysis.

Heavy libraries are imported inside the commands so that ``villenum --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from villenum.cliutil import add_command, add_group
from villenum.errors import PlanningError


def register(groups: Any) -> None:
    """Add the ``plan`` command group."""
    commands = add_group(groups, "plan", "Planning: where the Wi-Fi APs go, their fibre, 4G gaps")

    wifi = add_command(
        commands,
        "wifi",
        _wifi,
        "Place N outdoor Wi-Fi APs (optionally within a budget) and plan their fibre backhaul",
    )
    wifi.add_argument("--aps", type=int, required=True, help="number of access points")
    wifi.add_argument("--budget", type=float, metavar="EUR", help="total budget, € excl. VAT")
    wifi.add_argument(
        "--season",
        choices=("peak", "off"),
        default="peak",
        help="demand scenario: August peak or off-season (peak)",
    )
    wifi.add_argument("--out", type=Path, required=True, help="output folder")
    wifi.add_argument("--city", default="biarritz", help="city name or folder (biarritz)")
    wifi.add_argument("--threshold", type=float, default=-75.0, help="served at ≥ dBm (-75)")
    wifi.add_argument("--band", choices=("2.4", "5"), default="5", help="Wi-Fi band (5)")
    wifi.add_argument("--resolution", type=float, default=10.0, help="coverage cell, m (10)")
    wifi.add_argument("--range", dest="range_m", type=float, default=250.0, help="AP range, m")
    wifi.add_argument(
        "--method",
        choices=("auto", "exact", "greedy"),
        default="auto",
        help="placement solver (auto: greedy, then proven by HiGHS)",
    )
    wifi.add_argument("--time-limit", type=float, default=60.0, help="solver seconds (60)")
    wifi.add_argument(
        "--street-step",
        type=float,
        default=60.0,
        help="lamp-post candidates every N m of street (60)",
    )
    wifi.add_argument("--min-spacing", type=float, default=30.0, help="between candidates, m")
    wifi.add_argument("--sites", type=Path, help="extra candidate sites (GeoJSON points)")
    wifi.add_argument(
        "--existing", type=Path, metavar="INVENTORY", help="deployed hotspots to keep (TOML)"
    )
    wifi.add_argument("--pop", metavar="LON,LAT", help="fibre point of presence (town hall)")
    wifi.add_argument("--ducts", type=Path, help="existing ducts (GeoJSON lines), cheaper")
    wifi.add_argument("--costs", type=Path, help="unit costs (TOML [costs] table)")
    wifi.add_argument("--split", type=int, choices=(32, 64), default=32, help="GPON split")
    wifi.add_argument(
        "--beach-backup", action="store_true", help="cover every beach demand point with two APs"
    )
    wifi.add_argument("--no-progress", action="store_true", help="no progress bars")

    gaps = add_command(
        commands,
        "gaps",
        _gaps,
        "4G gaps: zones and streets below an RSRP threshold, small-cell sites ranked",
    )
    gaps.add_argument("--sites", type=Path, required=True, help="ANFR antenna extract (CSV)")
    gaps.add_argument("--out", type=Path, required=True, help="output folder")
    gaps.add_argument("--city", default="biarritz", help="city name or folder (biarritz)")
    gaps.add_argument("--threshold", type=float, default=-105.0, help="RSRP dBm (-105)")
    gaps.add_argument("--resolution", type=float, default=10.0, help="cell size, m (10)")
    gaps.add_argument("--range", dest="range_m", type=float, default=2500.0, help="m (2500)")
    gaps.add_argument("--top", type=int, default=20, help="small-cell sites to list (20)")
    gaps.add_argument("--no-progress", action="store_true", help="no progress bars")


def _load_city(name: str) -> Any:
    from villenum.data import load_city

    return load_city(name)


def _pop(text: str | None, crs: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError:
        raise PlanningError(f"--pop must be LON,LAT in degrees, got {text!r}") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise PlanningError(f"--pop {text!r} is not LON,LAT in degrees")
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    return float(x), float(y)


def _wifi(args: argparse.Namespace) -> int:
    import geopandas as gpd

    from villenum.planning.candidates import candidate_sites
    from villenum.planning.fibre import load_costs
    from villenum.planning.wifi import plan_wifi, write_plan

    city = _load_city(args.city)
    cands = candidate_sites(
        city,
        street_step_m=args.street_step,
        min_spacing_m=args.min_spacing,
        user_sites=args.sites,
        existing=args.existing,
    )
    ducts = None
    if args.ducts is not None:
        try:
            ducts = gpd.read_file(args.ducts).to_crs(city.crs)
        except Exception as exc:  # pyogrio raises several types for unreadable files
            raise PlanningError(f"cannot read the ducts layer {args.ducts}: {exc}") from None
    plan = plan_wifi(
        city,
        args.aps,
        season=args.season,
        budget_eur=args.budget,
        threshold_dbm=args.threshold,
        resolution_m=args.resolution,
        max_range_m=args.range_m,
        band=args.band,
        method=args.method,
        time_limit_s=args.time_limit,
        candidates=cands,
        pop_xy=_pop(args.pop, city.crs),
        costs=load_costs(args.costs) if args.costs else None,
        ducts=ducts,
        beach_backup=args.beach_backup,
        split_ratio=args.split,
        progress=not args.no_progress,
    )
    files = write_plan(plan, args.out)
    s = plan.summary
    p = s["placement"]
    bound = "proven optimal" if p["optimal"] else f"≤ {100 * p['gap']:.2f} % from optimal"
    print(
        f"{s['aps']} APs from {p['candidates']} candidates serve {s['covered_pct']:.1f} % of "
        f"the {s['season_label']} demand ({bound}, {p['method']}, {p['seconds']:.1f} s)"
    )
    print(
        f"fibre {s['fibre']['length_m'] / 1000:.2f} km ({s['fibre']['improvement_pct']:.1f} % "
        f"cheaper than networkx's Steiner tree); GPON margin {s['optical']['margin_db']:.1f} dB"
        f" ({'ok' if s['optical']['ok'] else 'FAILS'})"
    )
    print(f"total {s['total_eur']:,.0f} € excl. VAT")
    for role, path in files.items():
        print(f"  {role:13s} {path}")
    if not s["optical"]["ok"]:
        print("villenum: warning: the GPON optical budget fails; see summary.md", file=sys.stderr)
    return 0


def _gaps(args: argparse.Namespace) -> int:
    from villenum.coverage.lte import read_anfr_sites
    from villenum.coverage.raster import compute_coverage
    from villenum.planning.gaps import lte_gaps, write_gaps

    city = _load_city(args.city)
    sectors = read_anfr_sites(args.sites, crs=city.crs)
    coverage = compute_coverage(
        city,
        sectors,
        resolution_m=args.resolution,
        max_range_m=args.range_m,
        progress=not args.no_progress,
    )
    gaps = lte_gaps(
        city,
        coverage,
        threshold_dbm=args.threshold,
        top=args.top,
        progress=not args.no_progress,
    )
    files = write_gaps(gaps, args.out)
    s = gaps.summary
    print(
        f"{s['uncovered_pct']:.1f} % of the demand is below {args.threshold:.0f} dBm RSRP; "
        f"{s['street_km_below']:.1f} km of streets; best small cell adds "
        f"{s['best_new_people']:.0f} people"
    )
    for role, path in files.items():
        print(f"  {role:8s} {path}")
    return 0
