"""The portal in headless Chromium: WCAG 2.1 AA (axe-core), keyboard, no JavaScript, offline."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from villenum.hotspots.gateway_config import GatewaySettings
from villenum.portal.app import create_app

pytestmark = pytest.mark.chromium
LANGS = ["fr", "eu", "es", "en", "de"]


@pytest.fixture(scope="module")
def portal_url(tmp_path_factory):
    settings = GatewaySettings(
        lan_interface="lo",
        wan_interface="lo",
        portal_address="127.0.0.1",
        portal_port=0,
        state_dir=tmp_path_factory.mktemp("portal"),
    )
    server = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def axe_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]})
    return results.violations_count, results.generate_report()


@pytest.mark.parametrize(
    ("path", "lang"),
    [("/", lang) for lang in LANGS]
    + [(p, lang) for p in ("/privacy", "/terms") for lang in ["eu", "de"]],
)
def test_pages_have_no_wcag_aa_violation(page, portal_url, lang, path):
    page.goto(f"{portal_url}{path}?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    count, report = axe_violations(page)
    assert count == 0, report
    assert page.console_errors == []
    assert all(u.startswith(portal_url) for u in page.requested_urls)


def test_status_page_has_no_violation_and_accept_works_by_keyboard(page, portal_url):
    page.goto(f"{portal_url}/?lang=eu")
    # keyboard only: the skip link first, then through the language links to the button
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "BUTTON":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(f"{portal_url}/status?lang=eu")
    assert page.locator("h1").inner_text() == "Konektatuta zaude"
    count, report = axe_violations(page)
    assert count == 0, report
    page.get_by_role("button").click()  # disconnect
    page.wait_for_url(f"{portal_url}/?lang=eu")


def test_works_without_javascript(browser, portal_url):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{portal_url}/?lang=de")
    page.get_by_role("button", name="Akzeptieren und verbinden").click()
    page.wait_for_url(f"{portal_url}/status?lang=de")
    assert page.locator("h1").inner_text() == "Sie sind online"
    page.get_by_role("button", name="Verbindung trennen").click()
    page.wait_for_url(f"{portal_url}/?lang=de")
    context.close()
