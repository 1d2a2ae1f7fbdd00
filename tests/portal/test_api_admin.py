"""The RFC 8908 API and the token-protected admin API."""

from __future__ import annotations

import json

from .conftest import client_for, token_of

TOKEN = "s3cret-admin-token-for-tests"


def test_rfc8908_captive_then_online(app, clock):
    c = client_for(app)
    r = c.get("/api/captive")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/captive+json"
    assert "no-store" in r.headers["Cache-Control"]
    doc = json.loads(r.data)
    assert doc == {
        "captive": True,
        "user-portal-url": "http://10.77.0.1:8080/",
        "venue-info-url": "https://www.biarritz.fr/",
    }
    c.post("/accept", data={"token": token_of(c.get("/"))})
    clock.now += 60
    doc = json.loads(c.get("/api/captive").data)
    assert doc["captive"] is False
    assert doc["seconds-remaining"] == 4 * 3600 - 60
    assert doc["bytes-remaining"] == 500_000_000
    assert doc["can-extend-session"] is False


def test_api_is_answered_under_the_portal_host_only(app):
    r = app.test_client().get("/api/captive", headers={"Host": "example.com"})
    assert r.status_code == 302


def test_admin_is_absent_without_a_token(client, monkeypatch):
    monkeypatch.delenv("VILLENUM_ADMIN_TOKEN", raising=False)
    assert client.get("/admin/api/sessions").status_code == 404


def test_admin_needs_the_bearer_token(client, monkeypatch):
    monkeypatch.setenv("VILLENUM_ADMIN_TOKEN", TOKEN)
    assert client.get("/admin/api/sessions").status_code == 401
    bad = {"Authorization": "Bearer wrong"}
    assert client.get("/admin/api/stats", headers=bad).status_code == 401
    assert client.get("/admin/api/stats", headers={"Authorization": TOKEN}).status_code == 401


def test_admin_sessions_kick_stats(app, enforcer, monkeypatch):
    monkeypatch.setenv("VILLENUM_ADMIN_TOKEN", TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for ip in ("10.77.0.2", "10.77.0.3"):
        c = client_for(app, ip)
        c.post("/accept", data={"token": token_of(c.get("/"))})
    admin = client_for(app, "10.77.0.200")
    sessions = admin.get("/admin/api/sessions", headers=auth).get_json()
    assert [s["ip"] for s in sessions] == ["10.77.0.2", "10.77.0.3"]
    assert admin.get("/admin/api/stats", headers=auth).get_json()["active_sessions"] == 2
    r = admin.post(f"/admin/api/sessions/{sessions[0]['id']}/kick", headers=auth)
    assert r.status_code == 200
    assert r.get_json()["end_reason"] == "kick"
    assert enforcer.revoked == [("02:00:00:00:00:02", "10.77.0.2")]
    assert admin.get("/admin/api/stats", headers=auth).get_json()["active_sessions"] == 1
    assert (
        admin.post(f"/admin/api/sessions/{sessions[0]['id']}/kick", headers=auth).status_code == 404
    )
    assert (
        admin.get(f"/admin/api/sessions/{sessions[0]['id']}/kick", headers=auth).status_code == 405
    )
