"""The ``villenum`` command line: one group of subcommands per job.

Each subpackage that offers commands has a ``cli`` module with ``register(subparsers)``; those
modules stay light (heavy libraries are imported inside the command functions) so that
``villenum --help`` answers at once. A :class:`~villenum.errors.VillenumError` raised by a
command is a user mistake: it is printed as one line on stderr and the exit status is 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from collections.abc import Sequence

from villenum import __version__
from villenum.cliutil import OneLineErrorParser, add_verbose
from villenum.errors import VillenumError

# Subpackages whose `cli` module adds command groups, in the order `--help` lists them.
COMMAND_MODULES = (
    "villenum.data.cli",  # city
    "villenum.coverage.cli",  # coverage
    "villenum.planning.cli",  # plan
    "villenum.hotspots.gateway_cli",  # gateway
    "villenum.hotspots.cli",  # monitor
    "villenum.portal.cli",  # portal
    "villenum.maps.cli",  # maps
    "villenum.demo",  # demo
)


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser with every available command group."""
    parser = OneLineErrorParser(
        prog="villenum",
        description="Plan, run and monitor a city's fibre, 4G and free outdoor Wi-Fi.",
    )
    parser.add_argument("--version", action="version", version=f"villenum {__version__}")
    add_verbose(parser)
    groups = parser.add_subparsers(dest="group", metavar="GROUP", parser_class=OneLineErrorParser)
    groups.required = True
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG
        if args.verbose >= 2
        else logging.INFO
        if args.verbose
        else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        status = args.func(args)
    except VillenumError as exc:
        print(f"villenum: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("villenum: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":
    raise SystemExit(main())
