"""Reachability in a network namespace: "host down" told apart from "SNMP down" by ICMP."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from villenum.hotspots._snmp_probe import checksum, ping_many
from villenum.hotspots.inventory import validate_hotspots
from villenum.hotspots.snmp import PollerOptions, poll_hotspots

from .conftest import SNMPD, SNMPD_CONF, needs_root, wait_for_agent


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


@pytest.fixture
def netns() -> Iterator[dict[str, str]]:
    """A namespace behind a veth pair: 10.251.N.1 (host side), 10.251.N.2 (namespace)."""
    suffix = secrets.token_hex(3)
    ns, host_if, ns_if = f"vn-mon-{suffix}", f"vnm{suffix}a", f"vnm{suffix}b"
    net = f"10.251.{secrets.randbelow(250) + 1}"
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        sh("ip", "link", "set", ns_if, "netns", ns)
        sh("ip", "addr", "add", f"{net}.1/29", "dev", host_if)
        sh("ip", "link", "set", host_if, "up")
        sh("ip", "-n", ns, "addr", "add", f"{net}.2/29", "dev", ns_if)
        sh("ip", "-n", ns, "link", "set", ns_if, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield {"ns": ns, "alive": f"{net}.2", "absent": f"{net}.3"}
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_checksum_matches_rfc1071_example() -> None:
    # RFC 1071 §3 example: the one's complement sum of these words is 0xddf2
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == (~0xDDF2) & 0xFFFF


@needs_root
def test_host_down_versus_snmp_down_then_agent_in_namespace(
    netns: dict[str, str], tmp_path: Path
) -> None:
    rtts = ping_many([netns["alive"], netns["absent"], "not-an-ip"], 0.5)
    assert rtts is not None and set(rtts) == {netns["alive"], netns["absent"]}
    assert rtts[netns["alive"]] is not None and rtts[netns["absent"]] is None

    def hotspot(ident: str, address: str) -> dict[str, Any]:
        return {"id": ident, "name": ident, "lat": 43.48, "lon": -1.55, "address": address,
                "community": "public"}  # fmt: skip

    hotspots = validate_hotspots(
        [hotspot("alive", netns["alive"]), hotspot("gone", netns["absent"])]
    )
    options = PollerOptions(timeout_s=0.4, retries=0, deadline_s=3.0)
    alive, gone = poll_hotspots(hotspots, options)
    assert alive.reason == "snmp-down" and alive.rtt_ms is not None
    assert gone.reason == "host-down" and "nor to ICMP" in gone.detail
    # now a real agent answers on the namespace's address, port 161
    conf = tmp_path / "snmpd.conf"
    conf.write_text(
        SNMPD_CONF.format(
            address=netns["alive"],
            port=161,
            source="default",
            user="u1",
            auth_key="authkey-12",
            priv_key="privkey-12",
        )
    )
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(tmp_path / "persist"), "MIBS": ""}
    proc = subprocess.Popen(
        ["ip", "netns", "exec", netns["ns"], SNMPD, "-f", "-C", "-c", str(conf),
         "-Lf", str(tmp_path / "snmpd.log"), "-p", str(tmp_path / "snmpd.pid")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for_agent(161, "public", proc, host=netns["alive"])
        alive, gone = poll_hotspots(hotspots, options)
        assert alive.ok and alive.uplink is not None and alive.uplink.oper_up
        assert gone.reason == "host-down"
    finally:
        proc.terminate()
        proc.wait(10)
