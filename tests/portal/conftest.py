"""Fixtures for the portal tests: an app with its own state folder and a recording enforcer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from flask.testing import FlaskClient

from villenum.hotspots.gateway_config import GatewaySettings
from villenum.portal.app import create_app


@dataclass
class RecordingEnforcer:
    """Stands in for the nftables gateway (tested for real in tests/gateway)."""

    needs_mac: bool = True
    allowed: list[tuple[str | None, str, float]] = field(default_factory=list)
    revoked: list[tuple[str | None, str]] = field(default_factory=list)

    def allow(self, mac: str | None, ip: str, timeout_s: float) -> None:
        self.allowed.append((mac, ip, timeout_s))

    def revoke(self, mac: str | None, ip: str) -> None:
        self.revoked.append((mac, ip))


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings(tmp_path):
    return GatewaySettings(
        lan_interface="br0",
        wan_interface="eth0",
        portal_address="10.77.0.1",
        portal_port=8080,
        state_dir=tmp_path,
        quota_mb=500,
        venue_info_url="https://www.biarritz.fr/",
    )


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def enforcer():
    return RecordingEnforcer()


@pytest.fixture
def app(settings, enforcer, clock):
    macs = {"10.77.0.2": "02:00:00:00:00:02", "10.77.0.3": "02:00:00:00:00:03"}
    app = create_app(settings, enforcer=enforcer, identify=macs.get, clock=clock)
    app.config["TESTING"] = True
    return app


def client_for(app, ip="10.77.0.2"):
    """A test client whose TCP source address is ``ip``, talking to the portal host."""
    app.test_client_class = PortalClient
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


class PortalClient(FlaskClient):
    """A test client addressing the portal by its LAN address, as a captive device does."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("base_url", "http://10.77.0.1:8080")
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    return client_for(app)


def token_of(response) -> str:
    return re.search(r'name="token" value="([^"]+)"', response.text).group(1)
