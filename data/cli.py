"""``villenum city``: inspect and export a city model."""

from __future__ import annotations

import argparse
from typing import Any

from villenum.cliutil import add_command, add_group


def register(groups: Any) -> None:
    """Add the ``city`` command group."""
    commands = add_group(groups, "city", "inspect and export a city model")
    info = add_command(commands, "info", _info, "print a summary of a city model")
    info.add_argument(
        "city",
        nargs="?",
        default="biarritz",
        help="embedded city name or city folder (default: biarritz)",
    )
    export = add_command(commands, "export", _export, "write every layer to a GeoPackage")
    export.add_argument("city", help="embedded city name or city folder")
    export.add_argument("--out", required=True, metavar="FILE.gpkg", help="GeoPackage to write")


def _info(args: argparse.Namespace) -> int:
    from villenum.data import load_city
    from villenum.data.export import summary_text

    print(summary_text(load_city(args.city)))
    return 0


def _export(args: argparse.Namespace) -> int:
    from villenum.data import load_city
    from villenum.data.export import export_geopackage

    path = export_geopackage(load_city(args.city), args.out)
    print(f"wrote {path}")
    return 0
