"""Reading TOML configuration files with clear, one-line errors."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from villenum.errors import ConfigError


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file.

    Parameters
    ----------
    path
        Path of the TOML file.

    Returns
    -------
    dict
        The parsed document.

    Raises
    ------
    ConfigError
        If the file is missing, unreadable or not valid TOML (the message names the file and,
        for syntax errors, the line).
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config path is a directory, not a TOML file: {path}") from None
    except PermissionError:
        raise ConfigError(f"config file is not readable: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None


def require(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """Return ``table[key]``, checking that it exists and has the expected type.

    Parameters
    ----------
    table
        A TOML table.
    key
        The key that must be present.
    kind
        The accepted Python type(s) of the value.
    where
        What the table is, for the error message (e.g. ``"gateway.toml [gateway]"``).

    Raises
    ------
    ConfigError
        If the key is missing or has the wrong type.
    """
    if key not in table:
        raise ConfigError(f"{where}: missing required key '{key}'")
    value = table[key]
    # bool is an int subclass; a TOML `true` must not pass where a number is expected
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ConfigError(f"{where}: '{key}' must be {_type_name(kind)}, not a boolean")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: '{key}' must be {_type_name(kind)}, got {value!r}")
    return value


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)
