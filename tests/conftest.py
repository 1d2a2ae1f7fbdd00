"""Fixtures shared by every test folder: the embedded city, headless Chromium, root checks."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium tries to reach Google at start-up, which
# this offline machine refuses; the tests also assert that no page request leaves localhost.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

is_root = os.geteuid() == 0
needs_root = pytest.mark.skipif(not is_root, reason="needs root (network namespaces, nftables)")


@pytest.fixture(scope="session")
def biarritz() -> Any:
    """The embedded Biarritz city model (loaded once per test session)."""
    import osmnx as ox

    from villenum.data import load_city

    ox.settings.overpass_rate_limit = False  # never ask Overpass for its status offline
    return load_city("biarritz")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright (no browser download).

    Module-scoped on purpose: while Playwright's sync API is open, an asyncio loop runs in the
    main thread, and every later ``asyncio.run`` (the SNMP monitor's) would fail.
    """
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page that records console errors and every requested URL.

    ``page.console_errors`` and ``page.requested_urls`` are lists filled while the test runs.
    """
    context = browser.new_context()
    new_page = context.new_page()
    new_page.console_errors = []
    new_page.requested_urls = []
    new_page.on("console", lambda m: m.type == "error" and new_page.console_errors.append(m.text))
    new_page.on("pageerror", lambda exc: new_page.console_errors.append(str(exc)))
    new_page.on("request", lambda req: new_page.requested_urls.append(req.url))
    yield new_page
    context.close()
