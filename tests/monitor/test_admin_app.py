"""The admin web app: token auth, JSON API (the poll contract), Prometheus /metrics."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from villenum.errors import MonitorError
from villenum.hotspots.admin_app import create_app

TOKEN = "s3cret-token"
STATUS_KEYS = {"id", "name", "state", "reason", "score", "metrics", "rates"}
RATE_KEYS = {"uplink_in_bps", "uplink_out_bps"}


@pytest.fixture
def client(monitored_db: dict[str, Any]) -> Any:
    app = create_app({"MONITOR_DB": str(monitored_db["db"]), "MONITOR_TOKEN": TOKEN,
                      "MONITOR_CITY": None})  # fmt: skip
    app.testing = True
    return app.test_client()


def test_every_route_but_healthz_needs_the_token(client: Any) -> None:
    assert client.get("/healthz").status_code == 200
    for path in ("/api/hotspots", "/metrics", "/map", "/api/events", "/api/map-data"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert "Basic" in response.headers["WWW-Authenticate"]
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    basic = base64.b64encode(f"admin:{TOKEN}".encode()).decode()
    assert (
        client.get("/api/hotspots", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    )
    # ?token= once sets an HttpOnly cookie: the map's own fetches then pass
    first = client.get(f"/map?token={TOKEN}")
    assert first.status_code == 200 and "HttpOnly" in first.headers["Set-Cookie"]
    assert client.get("/api/map-data").status_code == 200


def test_json_api_follows_the_poll_contract(client: Any) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    data = client.get("/api/hotspots", headers=auth).get_json()
    by_id = {h["id"]: h for h in data["hotspots"]}
    assert list(by_id) == ["gp1", "gp2", "pv1", "ph1", "cb1"]  # inventory order
    for status in data["hotspots"]:
        assert set(status) >= STATUS_KEYS and set(status["rates"]) >= RATE_KEYS
    assert by_id["gp1"]["state"] == "up" and by_id["gp1"]["rates"]["uplink_in_bps"] > 0
    assert by_id["gp2"]["state"] == "degraded" and "70 clients" in by_id["gp2"]["reason"]
    assert by_id["pv1"]["state"] == "degraded" and "uplink-down" in by_id["pv1"]["reason"]
    assert by_id["ph1"]["state"] == "down" and by_id["ph1"]["score"] <= 25
    assert by_id["cb1"]["state"] == "unknown"
    one = client.get("/api/hotspots/ph1?hours=1", headers=auth).get_json()
    assert one["status"]["id"] == "ph1" and len(one["history"]) >= 2
    assert one["events"][0]["new"] == "down"
    assert client.get("/api/hotspots/nope", headers=auth).status_code == 404


def test_prometheus_metrics(client: Any) -> None:
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(True)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("villenum_hotspot_state", hotspot="ph1", zone="Phare", state="down") == 1
    assert value("villenum_hotspot_state", hotspot="ph1", zone="Phare", state="up") == 0
    assert value("villenum_hotspot_up", hotspot="gp1", zone="Grande Plage") == 1
    assert value("villenum_hotspot_up", hotspot="ph1", zone="Phare") == 0
    assert value("villenum_hotspot_clients", hotspot="gp2", zone="Grande Plage") == 70
    bps = value("villenum_hotspot_uplink_bits_per_second", hotspot="gp1", zone="Grande Plage",
                direction="in")  # fmt: skip
    assert bps == pytest.approx(10e6, rel=0.1)


def test_app_needs_a_database(tmp_path: Any) -> None:
    with pytest.raises(MonitorError, match="MONITOR_DB"):
        create_app({})
    app = create_app({"MONITOR_DB": str(tmp_path / "missing.db")})
    response = app.test_client().get("/api/hotspots")
    assert response.status_code == 503 and b"not found" in response.data
