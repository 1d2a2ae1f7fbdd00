"""The hotspot gateway's TOML configuration, shared by the gateway, the portal and the legal log.

Only ``lan_interface``, ``wan_interface`` and ``portal_address`` are required; every other key
has a default chosen for a small outdoor hotspot. See ``gateway.sample.toml`` for every key.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from villenum.config import load_toml, require
from villenum.errors import ConfigError

LANGUAGES = ("fr", "eu", "es", "en", "de")
_IFNAME = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
_FQDN = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


@dataclass(frozen=True)
class Gdpr:
    """What the GDPR notice says (articles 13 and 30 of Regulation (EU) 2016/679)."""

    controller: str = "[Commune — name of the data controller]"
    controller_address: str = "[postal address of the controller]"
    dpo_contact: str = "[e-mail or postal address of the data protection officer]"
    retention_days: int = 365


@dataclass(frozen=True)
class Wifi4Eu:
    """WiFi4EU switches: the network name, the Commission's snippet and an HTTPS-only portal."""

    enabled: bool = False
    ssid: str = "WiFi4EU"
    network_identifier: str = ""
    snippet_url: str = "https://collection.wifi4eu.ec.europa.eu/wifi4eu.min.js"
    self_test: bool = False


@dataclass(frozen=True)
class GatewaySettings:
    """Everything the gateway, the portal and the legal log read from ``gateway.toml``.

    Durations are in seconds, sizes in megabytes, rates in kilobits per second; ``0`` switches
    the rate limit and the quota off.
    """

    lan_interface: str
    wan_interface: str
    portal_address: str
    portal_port: int = 8080
    portal_workers: int = 0
    lan_cidr: str = ""
    session_timeout_s: int = 4 * 3600
    idle_timeout_s: int = 900
    poll_interval_s: float = 5.0
    rate_limit_kbit_s: int = 0
    quota_mb: int = 0
    state_dir: Path = Path("/var/lib/villenum/gateway")
    portal_hostname: str = ""
    https: bool = False
    tls_cert: str = ""
    tls_key: str = ""
    venue_name: str = "Biarritz — Wi-Fi public"
    venue_info_url: str = ""
    default_language: str = "fr"
    walled_garden_hosts: tuple[str, ...] = ()
    walled_garden_ips: tuple[str, ...] = ()
    admin_token_file: str = ""
    dnsmasq: bool = False
    dns_upstream: tuple[str, ...] = ()
    dhcp_range: tuple[str, str] | None = None
    dhcp_lease_s: int = 3600
    legal_log: bool = True
    gdpr: Gdpr = field(default_factory=Gdpr)
    wifi4eu: Wifi4Eu = field(default_factory=Wifi4Eu)

    @property
    def lan_network(self) -> ipaddress.IPv4Network:
        """The LAN subnet (``lan_cidr``, or the /24 around ``portal_address``)."""
        if self.lan_cidr:
            return ipaddress.IPv4Network(self.lan_cidr, strict=False)
        return ipaddress.IPv4Network(f"{self.portal_address}/24", strict=False)

    @property
    def sessions_db(self) -> Path:
        """The session store, shared by the gateway and its portal workers."""
        return self.state_dir / "sessions.sqlite"

    @property
    def legal_log_db(self) -> Path:
        """The legal log, written by the gateway (flows) and the portal workers (sessions)."""
        return self.state_dir / "legal_log.sqlite"

    @property
    def portal_url(self) -> str:
        """The splash page's absolute URL, where every captive client is sent."""
        scheme = "https" if self.https else "http"
        host = self.portal_hostname or self.portal_address
        default = 443 if self.https else 80
        port = "" if self.portal_port == default else f":{self.portal_port}"
        return f"{scheme}://{host}{port}/"

    @property
    def api_url(self) -> str:
        """The RFC 8908 API URI announced by DHCP option 114."""
        return self.portal_url + "api/captive"

    def admin_token(self) -> str | None:
        """The admin API token: env ``VILLENUM_ADMIN_TOKEN`` or ``admin_token_file`` (none: off)."""
        token = os.environ.get("VILLENUM_ADMIN_TOKEN", "")
        if not token and self.admin_token_file:
            try:
                token = Path(self.admin_token_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"admin_token_file {self.admin_token_file} is not readable: {exc.strerror}"
                ) from None
        if token and len(token) < 16:
            raise ConfigError("the admin token must be at least 16 characters long")
        return token or None


def load_gateway_settings(path: str | Path) -> GatewaySettings:
    """Read and check a ``gateway.toml``.

    Parameters
    ----------
    path
        The TOML file; its ``[gateway]`` table holds the keys, ``[gdpr]`` and ``[wifi4eu]``
        the notice and the WiFi4EU switches.

    Returns
    -------
    GatewaySettings

    Raises
    ------
    ConfigError
        If a required key is missing or a value is invalid (the message names the key).
    """
    doc = load_toml(path)
    return settings_from_dict(doc, where=str(path))


def settings_from_dict(doc: dict[str, Any], where: str = "gateway.toml") -> GatewaySettings:
    """Build :class:`GatewaySettings` from a parsed TOML document (see load_gateway_settings)."""
    gw = doc.get("gateway")
    if not isinstance(gw, dict):
        raise ConfigError(f"{where}: missing [gateway] table")
    w = f"{where} [gateway]"
    known = {f for f in GatewaySettings.__dataclass_fields__ if f not in ("gdpr", "wifi4eu")}
    unknown = sorted(set(gw) - known)
    if unknown:
        raise ConfigError(f"{w}: unknown key '{unknown[0]}'")
    kw: dict[str, Any] = {}
    for key in ("lan_interface", "wan_interface"):
        name = require(gw, key, str, w)
        if not _IFNAME.match(name):
            raise ConfigError(f"{w}: '{key}' is not a valid interface name: {name!r}")
        kw[key] = name
    kw["portal_address"] = _ipv4(require(gw, "portal_address", str, w), "portal_address", w)
    ints = {
        "portal_port": (1, 65535),
        "portal_workers": (0, 64),
        "session_timeout_s": (5, 30 * 86400),
        "idle_timeout_s": (5, 30 * 86400),
        "rate_limit_kbit_s": (0, 10_000_000),
        "quota_mb": (0, 10_000_000),
        "dhcp_lease_s": (120, 30 * 86400),
    }
    for key, (lo, hi) in ints.items():
        if key in gw:
            value = require(gw, key, int, w)
            if not lo <= value <= hi:
                raise ConfigError(f"{w}: '{key}' must be between {lo} and {hi}, got {value}")
            kw[key] = value
    if "poll_interval_s" in gw:
        value = float(require(gw, "poll_interval_s", (int, float), w))
        if not 0.2 <= value <= 600:
            raise ConfigError(f"{w}: 'poll_interval_s' must be between 0.2 and 600, got {value}")
        kw["poll_interval_s"] = value
    for key in ("https", "dnsmasq", "legal_log"):
        if key in gw:
            kw[key] = require(gw, key, bool, w)
    for key in (
        "portal_hostname",
        "tls_cert",
        "tls_key",
        "venue_name",
        "venue_info_url",
        "admin_token_file",
    ):
        if key in gw:
            kw[key] = require(gw, key, str, w)
    if "state_dir" in gw:
        kw["state_dir"] = Path(require(gw, "state_dir", str, w))
    if "lan_cidr" in gw:
        cidr = require(gw, "lan_cidr", str, w)
        try:
            net = ipaddress.IPv4Network(cidr, strict=False)
        except ValueError:
            raise ConfigError(f"{w}: 'lan_cidr' is not an IPv4 network: {cidr!r}") from None
        if ipaddress.IPv4Address(kw["portal_address"]) not in net:
            raise ConfigError(f"{w}: 'portal_address' is not inside 'lan_cidr' {cidr}")
        kw["lan_cidr"] = str(net)
    if "default_language" in gw:
        lang = require(gw, "default_language", str, w)
        if lang not in LANGUAGES:
            raise ConfigError(f"{w}: 'default_language' must be one of {', '.join(LANGUAGES)}")
        kw["default_language"] = lang
    if "portal_hostname" in kw and kw["portal_hostname"] and not _FQDN.match(kw["portal_hostname"]):
        raise ConfigError(f"{w}: 'portal_hostname' is not a host name: {kw['portal_hostname']!r}")
    if (
        "venue_info_url" in kw
        and kw["venue_info_url"]
        and not re.match(r"^https?://[^\s\"'<>]+$", kw["venue_info_url"])
    ):
        raise ConfigError(f"{w}: 'venue_info_url' must be an http(s) URL")
    hosts = _str_list(gw, "walled_garden_hosts", w)
    for host in hosts:
        if not _FQDN.match(host):
            raise ConfigError(f"{w}: walled_garden_hosts entry is not a host name: {host!r}")
    kw["walled_garden_hosts"] = tuple(hosts)
    ips = _str_list(gw, "walled_garden_ips", w)
    for ip in ips:
        try:
            ipaddress.IPv4Network(ip, strict=False)
        except ValueError:
            raise ConfigError(f"{w}: walled_garden_ips entry is not IPv4: {ip!r}") from None
    kw["walled_garden_ips"] = tuple(ips)
    kw["dns_upstream"] = tuple(
        _ipv4(s, "dns_upstream", w) for s in _str_list(gw, "dns_upstream", w)
    )
    if "dhcp_range" in gw:
        rng = _str_list(gw, "dhcp_range", w)
        if len(rng) != 2:
            raise ConfigError(f"{w}: 'dhcp_range' must be [first, last] addresses")
        kw["dhcp_range"] = (_ipv4(rng[0], "dhcp_range", w), _ipv4(rng[1], "dhcp_range", w))
    kw["gdpr"] = _sub(doc, "gdpr", Gdpr, where)
    kw["wifi4eu"] = _sub(doc, "wifi4eu", Wifi4Eu, where)
    settings = GatewaySettings(**kw)
    if settings.wifi4eu.enabled and not settings.https:
        raise ConfigError(f"{where}: [wifi4eu] enabled requires https = true in [gateway]")
    if settings.https and not (settings.tls_cert and settings.tls_key):
        raise ConfigError(f"{w}: https = true needs 'tls_cert' and 'tls_key' files")
    if settings.gdpr.retention_days < 365:
        raise ConfigError(
            f"{where} [gdpr]: 'retention_days' must be at least 365 (French CPCE art. R10-13)"
        )
    return settings


def _ipv4(text: str, key: str, where: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise ConfigError(f"{where}: '{key}' is not an IPv4 address: {text!r}") from None


def _str_list(table: dict[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of strings")
    return value


def _sub(doc: dict[str, Any], name: str, cls: type, where: str) -> Any:
    table = doc.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    fields = cls.__dataclass_fields__
    kw = {}
    for key, value in table.items():
        if key not in fields:
            raise ConfigError(f"{where} [{name}]: unknown key '{key}'")
        kind = type(fields[key].default)
        require(table, key, kind, f"{where} [{name}]")
        kw[key] = value
    return cls(**kw)
