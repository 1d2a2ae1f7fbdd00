"""The health map in headless Chromium: right colours, no console error, nothing off localhost."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from villenum.errors import MonitorError
from villenum.maps.health import write_health_map
from villenum.maps.layers import HOTSPOT_STATES

from .conftest import SnmpSim

pytestmark = pytest.mark.chromium
EXPECTED = {"gp1": "up", "gp2": "degraded", "pv1": "degraded", "ph1": "down", "cb1": "unknown"}


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_only(urls: list[str]) -> list[str]:
    """The requested URLs that leave the machine."""
    return [
        u for u in urls
        if not u.startswith(("file:", "data:", "blob:", "about:"))
        and urlparse(u).hostname not in ("127.0.0.1", "localhost")
    ]  # fmt: skip


def marker_states(page: Any) -> dict[str, tuple[str, str]]:
    """Hotspot id -> (state class, fill colour) of every single marker on the page."""
    return page.eval_on_selector_all(
        ".leaflet-marker-icon.vn-hs svg[data-hotspot]",
        """els => Object.fromEntries(els.map(e => [
            e.dataset.hotspot,
            [[...e.parentElement.classList].find(c => c.startsWith('vn-hs-')),
             e.querySelector('.vn-shape').getAttribute('fill')]]))""",
    )


def markers_up_close(page: Any, hotspots: list[Any]) -> dict[str, tuple[str, str]]:
    """Zoom to each hotspot (clusters open at zoom 18) and read its marker."""
    found = {}
    for h in hotspots:
        page.evaluate(
            "([lat, lon]) => { for (const k in window) { const v = window[k];"
            " if (v && v instanceof L.Map) { v.setView([lat, lon], 18, {animate: false}); } } }",
            [h.lat, h.lon],
        )
        page.wait_for_timeout(150)
        found.update(marker_states(page))
    return found


def test_saved_map_markers_colours_and_offline(monitored_db: dict[str, Any], page: Any,
                                               tmp_path: Path) -> None:  # fmt: skip
    out = write_health_map(monitored_db["db"], tmp_path / "health.html",
                           monitored_db["inventory"], city=None)  # fmt: skip
    assert (tmp_path / "health_files").is_dir()
    page.goto(out.as_uri())
    page.wait_for_selector(".vn-status")
    status_text = page.inner_text(".vn-status")
    assert "down" in status_text and "degraded" in status_text
    # a cluster takes its worst member's colour: Grande Plage (up + degraded) is orange
    clusters = page.eval_on_selector_all(".vn-cluster", "els => els.map(e => e.className)")
    assert all("vn-cluster-up" not in c for c in clusters)
    markers = markers_up_close(page, monitored_db["hotspots"])
    assert set(markers) == set(EXPECTED)
    for hotspot_id, state in EXPECTED.items():
        assert markers[hotspot_id] == [f"vn-hs-{state}", HOTSPOT_STATES[state][0]], hotspot_id
    markers_up_close(page, [h for h in monitored_db["hotspots"] if h.id == "ph1"])
    page.click("svg[data-hotspot=ph1]")
    popup = page.inner_text(".leaflet-popup-content")
    assert "Phare" in popup and "down" in popup and "Recent changes" in popup
    assert page.console_errors == []
    assert local_only(page.requested_urls) == []


@pytest.mark.slow
def test_maps_health_cli_draws_the_city_underneath(
    monitored_db: dict[str, Any], tmp_path: Path, page: Any
) -> None:
    out = tmp_path / "cli.html"
    result = subprocess.run(
        [sys.executable, "-m", "villenum", "maps", "health", "--db", str(monitored_db["db"]),
         "--out", str(out)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # the hotspots are in Biarritz: its streets, buildings and zones are drawn as vectors
    page.goto(out.as_uri())
    page.wait_for_selector(".vn-status")
    control = page.inner_text(".leaflet-control-layers-list")
    for layer in ("Streets", "Buildings", "Zones"):
        assert layer in control
    assert page.console_errors == []
    assert local_only(page.requested_urls) == []
    missing = subprocess.run(
        [sys.executable, "-m", "villenum", "maps", "health", "--db", str(tmp_path / "no.db"),
         "--out", str(out)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert missing.returncode == 2 and "monitor database not found" in missing.stderr


def test_empty_database_is_a_clear_error(tmp_path: Path) -> None:
    from villenum.hotspots.store import Store

    Store(tmp_path / "empty.db").close()
    with pytest.raises(MonitorError, match="holds no hotspot"):
        write_health_map(tmp_path / "empty.db", tmp_path / "x.html", city=None)


def test_live_map_refreshes_when_a_hotspot_comes_back(
    monitored_db: dict[str, Any], page: Any
) -> None:
    from villenum.hotspots.admin_app import serve_in_thread

    port = free_tcp_port()
    server = serve_in_thread({"MONITOR_DB": str(monitored_db["db"]), "MONITOR_TOKEN": "tk",
                              "MONITOR_REFRESH_S": 1, "MONITOR_CITY": None},
                             "127.0.0.1", port)  # fmt: skip
    sim = None
    try:
        page.goto(f"http://127.0.0.1:{port}/map?token=tk")
        page.wait_for_selector(".vn-status")
        phare = [h for h in monitored_db["hotspots"] if h.id == "ph1"]
        assert markers_up_close(page, phare)["ph1"][0] == "vn-hs-down"
        # the dead hotspot's agent starts answering: up after 2 good polls, no page reload
        files = {"public": monitored_db["files"]["public"]}
        revived = monitored_db["workdir"] / "revived"
        sim = SnmpSim(revived, files, port=monitored_db["dead_port"]).start()
        for _ in range(2):
            monitored_db["cycle"]()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and marker_states(page).get("ph1", [""])[0] != "vn-hs-up":
            page.wait_for_timeout(300)
        assert marker_states(page)["ph1"] == ["vn-hs-up", HOTSPOT_STATES["up"][0]]
        assert page.console_errors == []
        assert local_only(page.requested_urls) == []
    finally:
        if sim is not None:
            sim.stop()
        server.shutdown()
