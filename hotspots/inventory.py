"""The hotspot inventory: which access points the monitor polls, where they are, how to reach them.

An inventory is a TOML file with an optional ``[defaults]`` table (values every hotspot inherits
unless it sets its own) and one ``[[hotspot]]`` table per access point::

    [defaults]
    snmp_version = "2c"
    community = "public"
    vendor_profile = "openwrt"

    [[hotspot]]
    id = "bz-grande-plage-01"       # required, unique; letters, digits, '.', '_', '-'
    name = "Grande Plage – nord"    # required, shown on maps and alerts
    lat = 43.4841                   # required, WGS84 degrees
    lon = -1.5590
    zone = "Grande Plage"           # optional, the city zone (maps cluster by it)
    address = "10.64.1.11"          # optional, the SNMP agent's IP address or host name;
                                    #   a hotspot without one is planned, not deployed (not polled)
    port = 161                      # optional, UDP port of the agent (default 161)
    uplink_if = "eth0"              # optional, ifName/ifDescr of the uplink (default: the first
                                    #   up interface that is neither a loopback nor a radio,
                                    #   remembered once found so that its outage shows)
    max_clients = 60                # optional, associated clients at full load (default 50)

    [[hotspot]]
    id = "bz-phare-01"
    name = "Phare"
    lat = 43.4936
    lon = -1.5533
    address = "10.64.1.12"
    snmp_version = "3"              # "2c" (needs community) or "3" (needs user and keys)
    user = "villenum"
    auth_protocol = "SHA"           # SHA (HMAC-SHA-96), SHA-224, SHA-256, SHA-384, SHA-512
    auth_key = "a long auth secret" # at least 8 characters (RFC 3414)
    priv_protocol = "AES"           # AES (AES-128-CFB), AES-192, AES-256 (Net-SNMP key extension)
                                    #   or AES-192-C, AES-256-C (Cisco); omit for authNoPriv
    priv_key = "a long priv secret"
    context = ""                    # optional SNMPv3 context name
    vendor_profile = "unifi"        # generic, openwrt, unifi, mikrotik or cisco (default generic)

Validation errors raise :class:`~villenum.errors.InventoryError` with one sentence naming the
file, the hotspot (by ``id`` or position) and the field. The planning tools write this format
with :func:`write_inventory`; the monitor reads it with :func:`load_inventory`.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from villenum.config import load_toml
from villenum.errors import ConfigError, InventoryError

VENDOR_PROFILES = ("generic", "openwrt", "unifi", "mikrotik", "cisco")
SNMP_VERSIONS = ("2c", "3")
AUTH_PROTOCOLS = ("SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
PRIV_PROTOCOLS = ("AES", "AES-192", "AES-256", "AES-192-C", "AES-256-C")
DEFAULT_MAX_CLIENTS = 50

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_KNOWN_KEYS = {
    "id", "name", "lat", "lon", "zone", "address", "port", "snmp_version", "community", "user",
    "auth_protocol", "auth_key", "priv_protocol", "priv_key", "context", "vendor_profile",
    "uplink_if", "max_clients",
}  # fmt: skip


@dataclass(frozen=True)
class Hotspot:
    """One access point of the inventory (see the module docstring for the TOML schema).

    ``address`` is ``None`` for a planned hotspot that has no management address yet.
    """

    id: str
    name: str
    lat: float
    lon: float
    zone: str | None = None
    address: str | None = None
    port: int = 161
    snmp_version: str = "2c"
    community: str | None = None
    user: str | None = None
    auth_protocol: str | None = None
    auth_key: str | None = None
    priv_protocol: str | None = None
    priv_key: str | None = None
    context: str = ""
    vendor_profile: str = "generic"
    uplink_if: str | None = None
    max_clients: int = DEFAULT_MAX_CLIENTS

    @property
    def deployed(self) -> bool:
        """Whether the hotspot has a management address the monitor can poll."""
        return self.address is not None

    def public_dict(self) -> dict[str, Any]:
        """The hotspot's fields without its SNMP secrets (for JSON APIs and maps)."""
        secret = {"community", "auth_key", "priv_key"}
        return {k: v for k, v in asdict(self).items() if k not in secret}


def load_inventory(path: str | Path) -> list[Hotspot]:
    """Read and validate an inventory TOML file.

    Parameters
    ----------
    path
        Path of the inventory (schema in the module docstring).

    Returns
    -------
    list of Hotspot
        The hotspots in file order.

    Raises
    ------
    InventoryError
        If the file is missing, not TOML, has no ``[[hotspot]]`` table, or a hotspot has a
        missing, unknown or invalid field or a duplicate ``id``.
    """
    path = Path(path)
    try:
        doc = load_toml(path)
    except ConfigError as exc:
        raise InventoryError(f"inventory {exc}") from None
    defaults = doc.get("defaults", {})
    if not isinstance(defaults, dict):
        raise InventoryError(f"{path}: [defaults] must be a table")
    tables = doc.get("hotspot")
    if not isinstance(tables, list) or not tables:
        raise InventoryError(f"{path}: no [[hotspot]] table (the inventory lists no hotspot)")
    return validate_hotspots([{**defaults, **t} for t in tables], source=str(path))


def validate_hotspots(
    tables: Iterable[Mapping[str, Any]], source: str = "inventory"
) -> list[Hotspot]:
    """Validate hotspot tables (as read from TOML) and build :class:`Hotspot` objects.

    Parameters
    ----------
    tables
        One mapping per hotspot with the TOML keys of the schema.
    source
        Name of the file or caller, for error messages.

    Returns
    -------
    list of Hotspot

    Raises
    ------
    InventoryError
        On the first invalid hotspot, naming it and the field.
    """
    hotspots: list[Hotspot] = []
    seen: set[str] = set()
    for index, table in enumerate(tables, start=1):
        hotspot = _validate_one(table, source, index)
        if hotspot.id in seen:
            raise InventoryError(f"{source}: hotspot '{hotspot.id}': field 'id' is a duplicate")
        seen.add(hotspot.id)
        hotspots.append(hotspot)
    return hotspots


def write_inventory(hotspots: Iterable[Mapping[str, Any] | Hotspot], path: str | Path) -> Path:
    """Validate hotspots and write them as an inventory TOML file (atomically).

    Parameters
    ----------
    hotspots
        Mappings with the schema's keys (at least ``id``, ``name``, ``lat``, ``lon``) or
        :class:`Hotspot` objects. Optional keys left out or ``None`` are not written.
    path
        Destination file; its parent folder must exist. An existing file is replaced only once
        the new one is completely written.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    InventoryError
        If a hotspot is invalid (nothing is written then).
    """
    tables = [asdict(h) if isinstance(h, Hotspot) else dict(h) for h in hotspots]
    valid = validate_hotspots(tables, source=str(path))
    defaults = {f.name: f.default for f in fields(Hotspot)}
    lines = ["# villenum hotspot inventory (schema: villenum.hotspots.inventory)", ""]
    for hotspot in valid:
        lines.append("[[hotspot]]")
        for key, value in asdict(hotspot).items():
            required = key in ("id", "name", "lat", "lon")
            if value is None or (not required and value == defaults[key] and key != "snmp_version"):
                continue
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    path = Path(path)
    if not path.parent.is_dir():
        raise InventoryError(f"cannot write inventory {path}: folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    escaped = "".join(c if c.isprintable() and c not in '"\\' else f"\\U{ord(c):08x}" for c in text)
    return f'"{escaped}"'


def _validate_one(table: Mapping[str, Any], source: str, index: int) -> Hotspot:
    where = f"{source}: hotspot #{index}"
    if not isinstance(table, Mapping):
        raise InventoryError(f"{where} is not a table")
    ident = table.get("id")
    if not isinstance(ident, str) or not _ID_RE.match(ident):
        raise InventoryError(
            f"{where}: field 'id' must be 1-64 letters, digits, '.', '_' or '-', got {ident!r}"
        )
    where = f"{source}: hotspot '{ident}'"
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise InventoryError(f"{where}: unknown field '{unknown[0]}'")

    def text(key: str, required: bool = False) -> str | None:
        value = table.get(key)
        if value is None:
            if required:
                raise InventoryError(f"{where}: missing required field '{key}'")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            raise InventoryError(
                f"{where}: field '{key}' must be a non-empty string, got {value!r}"
            )
        return value

    def number(key: str, low: float, high: float) -> float:
        value = table.get(key)
        if value is None:
            raise InventoryError(f"{where}: missing required field '{key}'")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InventoryError(f"{where}: field '{key}' must be a number, got {value!r}")
        if not math.isfinite(value):
            raise InventoryError(f"{where}: field '{key}' must be a number, got {value!r}")
        if not low <= value <= high:
            raise InventoryError(f"{where}: field '{key}' = {value} is outside [{low}, {high}]")
        return float(value)

    def integer(key: str, default: int, low: int, high: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InventoryError(
                f"{where}: field '{key}' must be an integer in [{low}, {high}], got {value!r}"
            )
        return value

    def choice(key: str, options: tuple[str, ...], default: str | None) -> str | None:
        value = table.get(key, default)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and key == "snmp_version":
            value = str(value)  # `snmp_version = 3` is a natural way to write it
        normal = {o.upper(): o for o in options}
        if not isinstance(value, str) or value.upper() not in normal:
            raise InventoryError(
                f"{where}: field '{key}' must be one of {', '.join(options)}, got {value!r}"
            )
        return normal[value.upper()]

    name = text("name", required=True)
    lat = number("lat", -90.0, 90.0)
    lon = number("lon", -180.0, 180.0)
    address = text("address")
    if address is not None:
        address = address.strip()
        try:
            ipaddress.ip_address(address)
        except ValueError:
            if not _HOSTNAME_RE.match(address):
                raise InventoryError(
                    f"{where}: field 'address' must be an IP address or host name, got {address!r}"
                ) from None
    version = choice("snmp_version", SNMP_VERSIONS, "2c")
    community = text("community")
    user = text("user")
    auth_protocol = choice("auth_protocol", AUTH_PROTOCOLS, None)
    priv_protocol = choice("priv_protocol", PRIV_PROTOCOLS, None)
    auth_key = text("auth_key")
    priv_key = text("priv_key")
    # a planned hotspot (no address yet) needs no credentials
    if address is not None and version == "2c":
        if community is None:
            raise InventoryError(f"{where}: field 'community' is required with snmp_version '2c'")
    elif address is not None:
        if user is None:
            raise InventoryError(f"{where}: field 'user' is required with snmp_version '3'")
        if auth_protocol is None or auth_key is None:
            raise InventoryError(
                f"{where}: fields 'auth_protocol' and 'auth_key' are required with snmp_version '3'"
            )
        if (priv_protocol is None) != (priv_key is None):
            raise InventoryError(f"{where}: fields 'priv_protocol' and 'priv_key' go together")
        for key, secret in (("auth_key", auth_key), ("priv_key", priv_key)):
            if secret is not None and len(secret) < 8:
                raise InventoryError(
                    f"{where}: field '{key}' must have at least 8 characters (RFC 3414)"
                )
    return Hotspot(
        id=ident,
        name=name or ident,
        lat=lat,
        lon=lon,
        zone=text("zone"),
        address=address,
        port=integer("port", 161, 1, 65535),
        snmp_version=version or "2c",
        community=community,
        user=user,
        auth_protocol=auth_protocol,
        auth_key=auth_key,
        priv_protocol=priv_protocol,
        priv_key=priv_key,
        context=text("context") or "",
        vendor_profile=choice("vendor_profile", VENDOR_PROFILES, "generic") or "generic",
        uplink_if=text("uplink_if"),
        max_clients=integer("max_clients", DEFAULT_MAX_CLIENTS, 1, 100000),
    )
