"""Alerts: delay, re-notify, recovery, flapping suppression, and a real JSON webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from villenum.hotspots.alerts import AlertConfig, Alerter
from villenum.hotspots.health import HealthState, Transition

NAMES = {"ap-1": "Casino"}


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP server collecting the JSON bodies POSTed to it."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            assert self.headers["Content-Type"] == "application/json"
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def down(since: float) -> HealthState:
    return HealthState(state="down", reason="host-down: no answer", since_s=since)


def test_delay_renotify_recovery_through_the_webhook(webhook: Any) -> None:
    url, received = webhook
    alerter = Alerter(AlertConfig(delay_s=30, renotify_s=600, webhook_url=url))
    assert alerter.process(NAMES, {"ap-1": down(1000)}, [], 1010) == []  # within the delay
    sent = alerter.process(NAMES, {"ap-1": down(1000)}, [], 1031)
    assert [a["event"] for a in sent] == ["problem"]
    assert alerter.process(NAMES, {"ap-1": down(1000)}, [], 1200) == []  # no repeat...
    assert [a["event"] for a in alerter.process(NAMES, {"ap-1": down(1000)}, [], 1632)] == [
        "renotify"  # ...until the re-notify interval
    ]
    up = HealthState(state="up", reason="ok", since_s=1700)
    assert [a["event"] for a in alerter.process(NAMES, {"ap-1": up}, [], 1700)] == ["recovery"]
    alerter.close()  # waits for the posts
    assert [r["event"] for r in received] == ["problem", "renotify", "recovery"]
    assert received[0] == {"event": "problem", "hotspot": "ap-1", "name": "Casino",
                           "state": "down", "reason": "host-down: no answer", "since": 1000,
                           "time": 1031, "score": 0}  # fmt: skip


def test_short_outage_and_flapping_raise_no_storm() -> None:
    alerter = Alerter(AlertConfig(delay_s=30))
    # down for 20 s then up again: shorter than the delay, nothing at all
    assert alerter.process(NAMES, {"ap-1": down(0)}, [], 20) == []
    assert alerter.process(NAMES, {"ap-1": HealthState(state="up", since_s=25)}, [], 25) == []
    flapping = HealthState(state="down", since_s=100, flapping=True)
    start = Transition("ap-1", "flapping-start", "down", "down", "40 % state change", 100)
    sent = alerter.process(NAMES, {"ap-1": flapping}, [start], 100)
    assert [a["event"] for a in sent] == ["flapping-start"]
    assert alerter.process(NAMES, {"ap-1": flapping}, [], 500) == []  # down, but flapping


def test_unreachable_webhook_is_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    alerter = Alerter(AlertConfig(delay_s=0, webhook_url="http://127.0.0.1:9/nothing",
                                  webhook_timeout_s=1))  # fmt: skip
    assert alerter.process(NAMES, {"ap-1": down(0)}, [], 0)[0]["event"] == "problem"
    alerter.close()
    assert any("webhook" in r.message and "failed" in r.message for r in caplog.records)


def test_a_mass_outage_is_one_storm_notice_not_hundreds() -> None:
    sink: list[dict[str, Any]] = []
    alerter = Alerter(AlertConfig(delay_s=0, storm_threshold=10), sink=sink.append)
    health = {f"ap-{i}": down(0) for i in range(120)}
    sent = alerter.process({}, health, [], 60)
    assert [a["event"] for a in sent] == ["problem-storm"] == [a["event"] for a in sink]
    assert sent[0]["count"] == 120 and sent[0]["states"] == {"down": 120}
    assert len(sent[0]["hotspots"]) == 120
    back = {k: HealthState(state="up", since_s=90) for k in list(health)[:5]}
    assert [a["event"] for a in alerter.process({}, back, [], 90)] == ["recovery"] * 5
