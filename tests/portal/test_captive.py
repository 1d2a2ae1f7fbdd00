"""The splash, one-click acceptance, status, logout, languages and the GDPR notice."""

from __future__ import annotations

import re

import pytest

from villenum.portal.probes import OS_PROBES

from .conftest import client_for, token_of


@pytest.mark.parametrize(
    ("accept_language", "lang", "heading"),
    [
        ("fr-FR,fr;q=0.9", "fr", "Wi-Fi gratuit"),
        ("eu-ES,eu;q=0.9,es;q=0.5", "eu", "Doako Wi-Fia"),
        ("es-ES,es;q=0.9", "es", "Wi-Fi gratuito"),
        ("en-GB,en;q=0.9", "en", "Free Wi-Fi"),
        ("de-DE,de;q=0.9", "de", "Kostenloses WLAN"),
        ("ja-JP", "fr", "Wi-Fi gratuit"),
    ],
)
def test_splash_language_from_accept_language(client, accept_language, lang, heading):
    r = client.get("/", headers={"Accept-Language": accept_language})
    assert r.status_code == 200
    assert f'<html lang="{lang}">' in r.text
    assert f"<h1>{heading}</h1>" in r.text


def test_language_switch_is_visible_and_sticks(client):
    r = client.get("/", headers={"Accept-Language": "fr"})
    for code, name in [("eu", "Euskara"), ("es", "Español"), ("de", "Deutsch"), ("en", "English")]:
        assert f'href="/?lang={code}" lang="{code}" hreflang="{code}">{name}</a>' in r.text
    r = client.get("/?lang=de", headers={"Accept-Language": "fr"})
    assert "<h1>Kostenloses WLAN</h1>" in r.text
    # the cookie remembers the choice where cookies work...
    assert "<h1>Kostenloses WLAN</h1>" in client.get("/", headers={"Accept-Language": "fr"}).text


def test_language_travels_in_the_form_without_cookies(app, enforcer):
    # the iOS captive browser may drop cookies: the form alone must carry the language
    c = client_for(app)
    token = token_of(c.get("/?lang=eu"))
    c.delete_cookie("lang", domain="localhost")
    r = c.post("/accept", data={"token": token, "lang": "eu"})
    assert r.status_code == 303
    assert r.headers["Location"] == "/status?lang=eu"


def test_no_personal_data_is_asked(client):
    r = client.get("/")
    fields = re.findall(r"<input[^>]*>", r.text)
    assert all('type="hidden"' in f for f in fields)
    assert {re.search(r'name="(\w+)"', f).group(1) for f in fields} == {"token", "lang"}
    assert '<button type="submit"' in r.text


def test_one_click_accept_allows_this_device_only(app, enforcer):
    c = client_for(app, "10.77.0.2")
    r = c.post("/accept", data={"token": token_of(c.get("/"))})
    assert r.status_code == 303
    assert enforcer.allowed == [("02:00:00:00:00:02", "10.77.0.2", 4 * 3600)]
    status = c.get(r.headers["Location"])
    assert status.status_code == 200
    assert "240" in status.text
    # another device is still captive
    other = client_for(app, "10.77.0.3")
    assert other.get("/").status_code == 200
    assert other.get("/status").status_code == 303


def test_new_ip_of_a_device_replaces_its_old_session(app, enforcer, settings):
    from villenum.portal.app import services

    events = []
    with app.app_context():
        services().on_session = lambda event, session: events.append((event, session.ip))
    c = client_for(app, "10.77.0.2")
    c.post("/accept", data={"token": token_of(c.get("/"))})
    # DHCP gave the same device another address; the neighbour table says so
    with app.app_context():
        services().identify = lambda ip: "02:00:00:00:00:02"
    c = client_for(app, "10.77.0.9")
    c.post("/accept", data={"token": token_of(c.get("/"))})
    assert enforcer.revoked == [("02:00:00:00:00:02", "10.77.0.2")]
    assert events == [("start", "10.77.0.2"), ("end", "10.77.0.2"), ("start", "10.77.0.9")]


def test_token_of_another_device_is_refused(app, enforcer):
    token = token_of(client_for(app, "10.77.0.3").get("/"))
    r = client_for(app, "10.77.0.2").post("/accept", data={"token": token})
    assert r.status_code == 400
    assert 'role="alert"' in r.text
    assert enforcer.allowed == []


@pytest.mark.parametrize("token", ["", "x", "a" * 5000, "eyJ0.abc.def", None])
def test_bad_tokens_are_refused(client, enforcer, token):
    data = {} if token is None else {"token": token}
    assert client.post("/accept", data=data).status_code == 400
    assert enforcer.allowed == []


def test_cross_origin_post_is_refused(client, enforcer):
    token = token_of(client.get("/"))
    r = client.post("/accept", data={"token": token}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 400
    assert enforcer.allowed == []


def test_expired_token_is_refused(app, clock, enforcer):
    c = client_for(app)
    token = token_of(c.get("/"))
    import time as _time

    real = _time.time
    # itsdangerous reads time.time(); move it seven hours ahead
    _time.time = lambda: real() + 7 * 3600
    try:
        assert c.post("/accept", data={"token": token}).status_code == 400
    finally:
        _time.time = real


def test_device_without_mac_is_not_let_through(app, enforcer):
    c = client_for(app, "10.77.0.99")
    r = c.post("/accept", data={"token": token_of(c.get("/"))})
    assert r.status_code == 409
    assert enforcer.allowed == []


def test_logout_revokes(app, enforcer):
    c = client_for(app)
    c.post("/accept", data={"token": token_of(c.get("/"))})
    r = c.post("/logout", data={"token": token_of(c.get("/status"))})
    assert r.status_code == 303
    assert enforcer.revoked == [("02:00:00:00:00:02", "10.77.0.2")]
    assert c.get("/status").status_code == 303


def test_session_times_out(app, clock):
    c = client_for(app)
    c.post("/accept", data={"token": token_of(c.get("/"))})
    assert c.get("/status").status_code == 200
    clock.now += 4 * 3600 + 1
    assert c.get("/status").status_code == 303


@pytest.mark.parametrize("probe", OS_PROBES, ids=lambda p: p.os)
def test_every_os_probe_is_redirected_to_the_splash(client, probe):
    r = client.get(probe.path, headers={"Host": probe.host})
    assert r.status_code == 302
    assert r.headers["Location"] == "http://10.77.0.1:8080/"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.data != probe.body or probe.body == b""


def test_gdpr_notice_is_one_click_away(client, settings):
    splash = client.get("/?lang=en")
    assert 'href="/privacy?lang=en"' in splash.text
    notice = client.get("/privacy?lang=en").text
    for needle in [
        settings.gdpr.controller,
        settings.gdpr.dpo_contact,
        "365 days",
        "MAC address",
        "IP addresses and ports",
        "legal obligation",
        "CNIL",
        "Never your name",
    ]:
        assert needle in notice
    assert "R10-13" in client.get("/privacy?lang=fr").text


def test_pages_use_no_third_party_resource(client):
    for path in ["/", "/privacy", "/terms"]:
        html = client.get(path).text
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert url.startswith(("/", "#", "data:")) or url == "https://www.biarritz.fr/", url
        assert "<script" not in html  # works without JavaScript, none is sent
    assert "script-src 'none'" in client.get("/").headers["Content-Security-Policy"]


def test_wifi4eu_mode_adds_the_snippet(tmp_path):
    from villenum.hotspots.gateway_config import settings_from_dict
    from villenum.portal.app import create_app

    (tmp_path / "c.pem").write_text("x")
    settings = settings_from_dict(
        {
            "gateway": {
                "lan_interface": "br0",
                "wan_interface": "eth0",
                "portal_address": "10.0.0.1",
                "https": True,
                "tls_cert": str(tmp_path / "c.pem"),
                "tls_key": str(tmp_path / "c.pem"),
                "state_dir": str(tmp_path),
            },
            "wifi4eu": {"enabled": True, "network_identifier": "abc-123"},
        }
    )
    c = create_app(settings).test_client()
    html = c.get("/", base_url="https://10.0.0.1").text
    assert settings.wifi4eu.snippet_url in html
    js = c.get("/wifi4eu-config.js?lang=eu", base_url="https://10.0.0.1").text
    assert 'wifi4euNetworkIdentifier = "abc-123"' in js
    assert 'wifi4euLanguage = "eu"' in js
    assert settings.portal_url == "https://10.0.0.1:8080/"


def test_no_cookie_but_the_chosen_language_is_ever_set(client):
    # nothing about the visitor is remembered: no session cookie, only ?lang= sets one
    r = client.get("/")
    assert r.headers.getlist("Set-Cookie") == []
    r = client.post("/accept", data={"token": token_of(r)})
    assert r.status_code == 303
    assert r.headers.getlist("Set-Cookie") == []
    (cookie,) = client.get("/?lang=eu").headers.getlist("Set-Cookie")
    assert cookie.startswith("lang=eu;")
