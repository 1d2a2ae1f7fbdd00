"""End to end, as root, in namespaces: captive, one click, online; restart; timeout; legal log.

The tests of this module run in order on one lab (see conftest.py).
"""

from __future__ import annotations

import json
import re
import sqlite3
import time

import pytest

from villenum.hotspots.legal_log import LegalLog
from villenum.portal.probes import OS_PROBES

from .conftest import INTERNET, PORTAL, dns_query, http_get, needs_root, sh, tcp_connects

pytestmark = [needs_root, pytest.mark.netns, pytest.mark.slow]
PORTAL_URL = f"http://{PORTAL}:8080/"


def accept(lab, client):
    status, _, body = lab.run(client, http_get, PORTAL, "/", None, 8080)
    assert status == 200
    token = re.search(rb'name="token" value="([^"]+)"', body).group(1).decode()
    status, headers, _ = lab.run(
        client,
        lambda: http_get(
            PORTAL,
            "/accept",
            port=8080,
            method="POST",
            body=f"token={token}&lang=fr",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    )
    return status, headers


def probe(lab, client, p):
    """What an OS sees: resolve the probe host with the hotspot's DNS, then fetch it."""
    (address,) = lab.run(client, dns_query, p.host, PORTAL)
    assert address == INTERNET  # truthful DNS: never the portal's address
    return lab.run(client, http_get, address, p.path, p.host)


def assert_captive(lab, client):
    for p in OS_PROBES:
        status, headers, body = probe(lab, client, p)
        assert status == 302, (p.os, status)
        assert headers["location"] == PORTAL_URL, p.os
        assert headers["cache-control"] == "no-store"
        assert p.body == b"" or body != p.body


def assert_online(lab, client):
    for p in OS_PROBES:
        status, headers, body = probe(lab, client, p)
        assert (status, body) == (p.status, p.body), p.os
        if p.location:
            assert headers["location"] == p.location


def client_mac(lab, client):
    link = json.loads(sh("ip", "-n", client, "-j", "link", "show", "eth0").stdout)
    return link[0]["address"]


def test_gateway_starts_and_installs_its_table(lab):
    lab.start_gateway(lab.config())
    rules = lab.nft("list", "table", "inet", "villenum")
    assert "set clients" in rules
    assert "dnat ip to 10.77.0.1:8080" in rules
    assert "masquerade" in rules


def test_before_acceptance_every_probe_is_redirected(lab):
    for client in lab.clients:
        assert_captive(lab, client)


def test_before_acceptance_other_traffic_and_foreign_dns_are_blocked(lab):
    c1 = lab.clients[0]
    assert not lab.run(c1, tcp_connects, INTERNET, 443, 1.0)  # HTTPS
    assert not lab.run(c1, tcp_connects, INTERNET, 853, 1.0)  # DNS over TLS
    with pytest.raises(OSError):
        lab.run(c1, dns_query, "example.org", INTERNET, 1.0)  # foreign DNS
    # the hotspot's own resolver answers, truthfully
    assert lab.run(c1, dns_query, "example.org", PORTAL) == [INTERNET]


def test_walled_garden_is_reachable_before_acceptance(lab):
    c1 = lab.clients[0]
    (address,) = lab.run(c1, dns_query, "garden.example", PORTAL)  # dnsmasq fills the nft set
    assert address == "198.51.100.7"
    status, _, body = lab.run(c1, http_get, address, "/", "garden.example")
    assert status == 200
    assert body.startswith(b"hello garden.example/")


def test_rfc8908_api_says_captive(lab):
    status, headers, body = lab.run(lab.clients[0], http_get, PORTAL, "/api/captive", None, 8080)
    assert status == 200
    assert headers["content-type"] == "application/captive+json"
    assert json.loads(body)["captive"] is True


def test_splash_renders_in_chromium_with_no_accessibility_violation(lab, tmp_path, browser):
    from axe_playwright_python.sync_playwright import Axe

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    # the shared Playwright instance starts a second Chromium inside the client's namespace
    wrapper = tmp_path / "chromium-in-netns"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {lab.clients[1]} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    client_browser = browser.browser_type.launch(executable_path=str(wrapper), args=CHROMIUM_ARGS)
    try:
        page = client_browser.new_page()
        requested = []
        page.on("request", lambda r: requested.append(r.url))
        # what the captive browser opens: a probe URL, redirected to the splash
        page.goto("http://captive.apple.com/hotspot-detect.html")
        assert page.url == PORTAL_URL
        assert page.locator("h1").inner_text()
        results = Axe().run(page, options={"runOnly": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]})
    finally:
        client_browser.close()
    assert results.violations_count == 0, results.generate_report()
    assert all(u.startswith(("http://captive.apple.com/", PORTAL_URL)) for u in requested)


def test_one_click_puts_the_client_online(lab):
    c1 = lab.clients[0]
    status, _headers = accept(lab, c1)
    assert status == 303
    mac = client_mac(lab, c1)
    assert f"{mac} . 10.77.0.11" in lab.nft("list", "set", "inet", "villenum", "clients")
    assert_online(lab, c1)
    assert lab.run(c1, dns_query, "example.org", INTERNET) == [INTERNET]  # any DNS now
    status, _, body = lab.run(c1, http_get, PORTAL, "/api/captive", None, 8080)
    doc = json.loads(body)
    assert doc["captive"] is False
    assert 590 <= doc["seconds-remaining"] <= 600


def test_status_command_shows_the_running_gateway(lab, capsys):
    from villenum.cli import main

    assert main(["gateway", "status", "--config", str(lab.config())]) == 0
    out = capsys.readouterr().out
    assert "gateway: running" in out
    assert "sessions: 1 active" in out
    assert "10.77.0.11" in out


def test_accepting_again_refreshes_the_device(lab):
    # the device is in the set already: "create element" fails and the fallback (delete +
    # add in one transaction) renews its timeout
    c1 = lab.clients[0]
    time.sleep(1.5)
    _, _, page = lab.run(c1, http_get, PORTAL, "/status", None, 8080)  # online: no splash
    token = re.search(rb'name="token" value="([^"]+)"', page).group(1).decode()
    status, _, _ = lab.run(
        c1,
        lambda: http_get(
            PORTAL, "/accept", port=8080, method="POST", body=f"token={token}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    )  # fmt: skip
    assert status == 303
    elements = lab.nft("list", "set", "inet", "villenum", "clients")
    assert elements.count(f"{client_mac(lab, c1)} . 10.77.0.11") == 1
    assert re.search(r"expires (9m5\d|10m)", elements), elements
    assert_online(lab, c1)


def test_a_dead_portal_worker_is_replaced(lab):
    import os
    import signal

    import psutil

    def workers():
        found = []
        for child in psutil.Process(lab.gateway.pid).children():
            try:
                if "villenum.hotspots._gw_portal" in " ".join(child.cmdline()):
                    found.append(child)
            except psutil.Error:  # the killed one, until the gateway reaps it
                pass
        return found

    before = workers()
    assert len(before) == len(os.sched_getaffinity(0))  # portal_workers = 0: one per core
    os.kill(before[0].pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        now = workers()
        if len(now) == len(before) and before[0].pid not in {p.pid for p in now}:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the killed portal worker was not replaced")
    for _ in range(10):  # connections are spread over the workers: every one answers
        assert lab.run(lab.clients[1], http_get, PORTAL, "/", None, 8080)[0] == 200


def test_another_client_stays_captive(lab):
    assert_captive(lab, lab.clients[1])
    assert not lab.run(lab.clients[1], tcp_connects, INTERNET, 443, 1.0)


def test_one_fetch_is_one_legal_log_record_with_its_nat_mapping(lab):
    c1 = lab.clients[0]

    def fetch():
        import http.client

        conn = http.client.HTTPConnection(INTERNET, 80, timeout=3, source_address=("", 40123))
        conn.request("GET", "/secret-page?q=private", headers={"Host": "example.org"})
        body = conn.getresponse().read()
        conn.close()
        return body

    body = lab.run(c1, fetch)
    seen = re.search(rb"from ([\d.]+):(\d+)", body)
    public_ip, public_port = seen.group(1).decode(), int(seen.group(2))
    assert public_ip == "198.51.100.2"
    db = lab.state / "legal_log.sqlite"
    deadline = time.monotonic() + 10
    rows = []
    while time.monotonic() < deadline and not rows:
        with sqlite3.connect(db) as con:
            rows = con.execute(
                "SELECT mac, proto, priv_ip, pub_ip, pub_port, body FROM records "
                "WHERE kind='flow' AND priv_port=40123"
            ).fetchall()
        time.sleep(0.2)
    assert len(rows) == 1
    mac, proto, priv_ip, pub_ip, pub_port, _raw = rows[0]
    assert (mac, proto, priv_ip, pub_ip, pub_port) == (
        client_mac(lab, c1),
        "tcp",
        "10.77.0.11",
        public_ip,
        public_port,
    )
    with sqlite3.connect(db) as con:
        everything = " ".join(r[0] for r in con.execute("SELECT body FROM records"))
    for secret in ("secret-page", "private", "example.org", INTERNET):
        assert secret not in everything  # no URL, no DNS name, no destination
    # the requisition: who had 198.51.100.2:<port> just now?
    legal = LegalLog(db)
    found = legal.who(
        public_ip, public_port, time.time(), requester="OPJ Dupont", reason="réquisition 2026/123"
    )
    assert [f["mac"] for f in found] == [mac]
    reads = legal.records(requester="test", reason="check audit", kind="read")
    assert any(r["requester"] == "OPJ Dupont" for r in reads)
    legal.close()


def test_restart_keeps_authenticated_clients_and_everyone_else_captive(lab):
    assert lab.stop_gateway() == 0
    assert "villenum" not in lab.nft("list", "tables")
    lab.start_gateway(lab.config())
    assert_online(lab, lab.clients[0])
    assert_captive(lab, lab.clients[1])


def test_session_timeout_cuts_access(lab):
    assert lab.stop_gateway() == 0
    lab.start_gateway(lab.config(session_timeout_s=6))
    c2 = lab.clients[1]
    assert accept(lab, c2)[0] == 303
    assert_online(lab, c2)
    time.sleep(6.5)
    assert_captive(lab, c2)
    assert_online(lab, lab.clients[0])  # restored with its own, longer session


def test_stop_removes_the_rules_and_keeps_the_sessions(lab):
    assert lab.stop_gateway() == 0
    assert "villenum" not in lab.nft("list", "tables")
    with sqlite3.connect(lab.state / "sessions.sqlite") as con:
        active = con.execute("SELECT ip FROM sessions WHERE ended_s IS NULL").fetchall()
        reasons = dict(con.execute("SELECT ip, end_reason FROM sessions WHERE ended_s IS NOT NULL"))
    assert active == [("10.77.0.11",)]
    assert reasons == {"10.77.0.11": "replaced", "10.77.0.12": "timeout"}  # re-accepted once


def test_legal_log_chain_and_365_day_purge(lab):
    db = lab.state / "legal_log.sqlite"
    legal = LegalLog(db)
    assert legal.verify().ok
    count = len(legal.records(requester="test", reason="count"))
    legal.close()
    later = LegalLog(db, clock=lambda: time.time() + 366 * 86400)
    assert later.purge() == count  # every record, the reads of this test included
    remaining = later.records(requester="test", reason="after purge")
    assert [r["kind"] for r in remaining] == ["purge", "read"]
    assert later.verify().ok
    later.close()
