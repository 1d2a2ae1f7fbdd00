"""Rate limit, data quota, idle timeout and admin kick, enforced for real in namespaces."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from .conftest import INTERNET, PORTAL, http_get, needs_root, tcp_connects
from .test_e2e import accept, assert_captive, assert_online

pytestmark = [needs_root, pytest.mark.netns, pytest.mark.slow]
CLIENTS = 3
TOKEN = "admin-token-for-the-namespace-test"


def end_reason(lab, ip):
    with sqlite3.connect(lab.state / "sessions.sqlite") as con:
        row = con.execute(
            "SELECT end_reason FROM sessions WHERE ip=? ORDER BY id DESC LIMIT 1", (ip,)
        ).fetchone()
    return row[0] if row else None


def wait_captive(lab, client, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, _, _ = lab.run(client, http_get, INTERNET, "/", "example.org")
        if status == 302:
            return time.monotonic()
        time.sleep(0.25)
    raise AssertionError(f"{client} still online after {seconds} s")


def download(lab, client, size, timeout=20.0):
    def fetch():
        start = time.monotonic()
        status, _, body = http_get(INTERNET, f"/bytes/{size}", "example.org", timeout=timeout)
        return status, len(body), time.monotonic() - start

    return lab.run(client, fetch)


def test_limits(lab):
    lab.start_gateway(
        lab.config(idle_timeout_s=6, quota_mb=5, rate_limit_kbit_s=8000),
        env={"VILLENUM_ADMIN_TOKEN": TOKEN},
    )
    c1, c2, c3 = lab.clients
    assert accept(lab, c2)[0] == 303  # will stay idle
    idle_since = time.monotonic()
    assert accept(lab, c1)[0] == 303

    # rate limit: 8000 kbit/s = 1 MB/s after a 1.5 MB burst, so 4 MB need >= 2.5 s
    status, size, elapsed = download(lab, c1, 4_000_000)
    assert (status, size) == (200, 4_000_000)
    assert elapsed >= 2.0, f"4 MB in {elapsed:.2f} s: the rate limit did not hold"
    assert elapsed <= 6.0, f"4 MB in {elapsed:.2f} s: far below the configured rate"

    # quota: 5 MB per session, the next 1.5 MB cross it and the transfer is cut
    with pytest.raises(OSError):
        download(lab, c1, 1_500_000, timeout=4.0)
    wait_captive(lab, c1, 5)
    assert end_reason(lab, "10.77.0.11") == "quota"

    # idle: c2 sent nothing since it accepted
    captive_at = wait_captive(lab, c2, 15)
    assert captive_at - idle_since >= 6
    assert end_reason(lab, "10.77.0.12") == "idle"
    assert_captive(lab, c2)

    # admin kick cuts the device off at once
    assert accept(lab, c3)[0] == 303
    assert_online(lab, c3)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, _, body = lab.run(
        c3, lambda: http_get(PORTAL, "/admin/api/sessions", port=8080, headers=auth)
    )
    (session,) = [s for s in json.loads(body) if s["ip"] == "10.77.0.13"]
    status, _, _ = lab.run(
        c3,
        lambda: http_get(
            PORTAL,
            f"/admin/api/sessions/{session['id']}/kick",
            port=8080,
            method="POST",
            headers=auth,
        ),
    )
    assert status == 200
    assert_captive(lab, c3)
    assert not lab.run(c3, tcp_connects, INTERNET, 443, 1.0)
    assert lab.stop_gateway() == 0
