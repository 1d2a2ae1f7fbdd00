"""Configuration checks, generated rules and dnsmasq text, and one-line CLI errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from villenum.errors import ConfigError, GatewayError
from villenum.hotspots.dnsmasq import dnsmasq_config
from villenum.hotspots.gateway import canonical_ipv4, canonical_mac, ruleset
from villenum.hotspots.gateway_config import load_gateway_settings, settings_from_dict

SAMPLE = Path(__file__).parents[2] / "hotspots" / "gateway.sample.toml"
BASE = {"lan_interface": "br0", "wan_interface": "eth0", "portal_address": "10.77.0.1"}


def test_sample_config_loads():
    settings = load_gateway_settings(SAMPLE)
    assert settings.lan_interface == "br-hotspot"
    assert str(settings.lan_network) == "10.77.0.0/22"
    assert settings.gdpr.retention_days == 365


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"lan_interface": "br0; nft flush ruleset"}, "'lan_interface'"),
        ({"portal_address": "10.77.0.300"}, "'portal_address'"),
        ({"portal_port": 0}, "'portal_port'"),
        ({"session_timeout_s": True}, "'session_timeout_s'"),
        ({"lan_cidr": "192.168.0.0/24"}, "'portal_address' is not inside"),
        ({"walled_garden_hosts": ["ok.example", "bad host"]}, "walled_garden_hosts"),
        ({"walled_garden_ips": ["10.0.0.0/33"]}, "walled_garden_ips"),
        ({"default_language": "it"}, "'default_language'"),
        ({"colour": "blue"}, "unknown key 'colour'"),
        ({"https": True}, "tls_cert"),
        ({"venue_info_url": "javascript:alert(1)"}, "venue_info_url"),
    ],
)
def test_bad_values_are_one_clear_config_error(change, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(")) as info:
        settings_from_dict({"gateway": {**BASE, **change}})
    assert "\n" not in str(info.value)


def test_missing_keys_and_short_retention():
    with pytest.raises(ConfigError, match="missing required key 'wan_interface'"):
        settings_from_dict({"gateway": {"lan_interface": "br0", "portal_address": "10.0.0.1"}})
    with pytest.raises(ConfigError, match="retention_days"):
        settings_from_dict({"gateway": BASE, "gdpr": {"retention_days": 30}})


def test_ruleset_text():
    settings = settings_from_dict(
        {"gateway": {**BASE, "rate_limit_kbit_s": 8000, "walled_garden_ips": ["203.0.113.0/24"]}}
    )
    text = ruleset(settings)
    assert "type ether_addr . ipv4_addr" in text and "flags timeout" in text
    assert 'iifname "br0" ip daddr != 10.77.0.1 tcp dport 80 dnat ip to 10.77.0.1:8080' in text
    assert 'oifname "eth0" ip saddr 10.77.0.0/24 masquerade' in text
    assert "limit rate over 1000000 bytes/second" in text
    assert "elements = { 203.0.113.0/24 }" in text


@pytest.mark.parametrize("bad", ["02:00:00:00:00:0g", "01:00:5e:00:00:01", "aa:bb", "x } ; flush"])
def test_only_real_addresses_reach_nft(bad):
    with pytest.raises(GatewayError):
        canonical_mac(bad)
    with pytest.raises(GatewayError):
        canonical_ipv4(bad)
    assert canonical_mac("02-00-00-AA-BB-CC") == "02:00:00:aa:bb:cc"


def test_dnsmasq_config():
    settings = settings_from_dict(
        {
            "gateway": {
                **BASE,
                "dns_upstream": ["9.9.9.9"],
                "dhcp_range": ["10.77.0.50", "10.77.0.250"],
                "walled_garden_hosts": ["wifi4eu.ec.europa.eu", "www.biarritz.fr"],
            }
        }
    )
    text = dnsmasq_config(settings)
    assert "server=9.9.9.9" in text and "no-resolv" in text
    assert "dhcp-range=10.77.0.50,10.77.0.250,255.255.255.0,3600s" in text
    assert "nftset=/wifi4eu.ec.europa.eu/www.biarritz.fr/4#inet#villenum#garden4" in text
    assert "log-queries" not in text
    assert "dhcp-option=114" not in text  # RFC 8910 wants https


def run_cli(*args):
    """Run the CLI in-process (a subprocess would pay the city stack's import every time)."""
    import contextlib
    import io

    from villenum.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def test_cli_bad_config_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "gw.toml"
    bad.write_text('[gateway]\nlan_interface = "br0"\n')
    for command in ("status", "rules", "dnsmasq-config"):
        proc = run_cli("gateway", command, "--config", str(bad))
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert "wan_interface" in proc.stderr


def test_cli_rules_and_status(tmp_path):
    config = tmp_path / "gw.toml"
    config.write_text(
        f'[gateway]\nlan_interface = "br0"\nwan_interface = "eth0"\n'
        f'portal_address = "10.77.0.1"\nstate_dir = "{tmp_path}"\n'
    )
    proc = run_cli("gateway", "rules", "--config", str(config))
    assert proc.returncode == 0 and "table inet villenum" in proc.stdout
    proc = run_cli("gateway", "status", "--config", str(config))
    assert proc.returncode == 3 and "not running" in proc.stdout
    proc = run_cli(
        "gateway",
        "log-who",
        "--config",
        str(config),
        "--ip",
        "203.0.113.5",
        "--at",
        "yesterday",
        "--requester",
        "x",
        "--reason",
        "y",
    )
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
