"""``villenum maps``: write HTML maps that open offline (city model, hotspot health)."""

from __future__ import annotations

import argparse
from typing import Any

from villenum.cliutil import add_command, add_group


def register(groups: Any) -> None:
    """Add the ``maps`` command group."""
    commands = add_group(groups, "maps", "write HTML maps that work offline")
    city = add_command(
        commands, "city", _city, "map a city model: neighbourhoods, buildings, streets"
    )
    city.add_argument(
        "city",
        nargs="?",
        default="biarritz",
        help="embedded city name or city folder (default: biarritz)",
    )
    city.add_argument("--out", required=True, metavar="FILE.html", help="HTML file to write")
    health = add_command(
        commands, "health", _health, "map hotspot health from the monitor's database"
    )
    health.add_argument("--db", required=True, metavar="PATH", help="the monitor's SQLite database")
    health.add_argument("--out", required=True, metavar="FILE.html", help="HTML file to write")
    health.add_argument(
        "--inventory", metavar="INV.toml", help="hotspot inventory (names, places, zones)"
    )


def _city(args: argparse.Namespace) -> int:
    from villenum.maps.city import write_city_map

    path = write_city_map(args.city, args.out)
    print(f"wrote {path} (assets in {path.with_name(path.stem + '_files')})")
    return 0


def _health(args: argparse.Namespace) -> int:
    from villenum.maps.health import write_health_map

    path = write_health_map(args.db, args.out, inventory_path=args.inventory)
    print(f"wrote {path}")
    return 0
