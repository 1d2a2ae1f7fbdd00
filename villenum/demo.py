"""``villenum demo``: the main job on the embedded Biarritz data, end to end."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from villenum.cliutil import add_verbose


def register(groups: Any) -> None:
    """Add the ``demo`` command (a group of its own, with no subcommands)."""
    parser = groups.add_parser(
        "demo",
        help="run the whole chain on the embedded Biarritz data",
        description="Run the whole chain on the embedded Biarritz data and write into --out.",
    )
    add_verbose(parser)
    parser.add_argument("--out", default="out", type=Path, help="output folder (default: out)")
    parser.add_argument("--city", default="biarritz", help="embedded city name or city folder")
    parser.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """Load the city, print its summary and write its GeoPackage."""
    from villenum.data import load_city
    from villenum.data.export import export_geopackage, summary_text

    city = load_city(args.city)
    print(summary_text(city))
    gpkg = export_geopackage(city, args.out / "city.gpkg")
    print(f"\ncity model (every layer): {gpkg}")
    return 0
