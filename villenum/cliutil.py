"""Small helpers shared by the subpackages' ``cli`` modules."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, NoReturn

CommandFunc = Callable[[argparse.Namespace], int | None]


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr with exit status 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(2)


def add_verbose(parser: argparse.ArgumentParser) -> None:
    """Add ``-v/--verbose`` (repeatable) to a parser."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if parser.prog != "villenum" else 0,
        help="more log output (-vv for debug)",
    )


def add_group(groups: Any, name: str, help_text: str) -> Any:
    """Add a command group (``villenum NAME ...``) and return its subparsers object."""
    group = groups.add_parser(name, help=help_text, description=help_text)
    commands = group.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=OneLineErrorParser
    )
    commands.required = True
    return commands


def add_command(
    commands: Any, name: str, func: CommandFunc, help_text: str
) -> argparse.ArgumentParser:
    """Add a command to a group; ``func(args)`` returns the exit status (``None`` means 0)."""
    parser = commands.add_parser(name, help=help_text, description=help_text)
    add_verbose(parser)
    parser.set_defaults(func=func)
    return parser
