"""Operating-system captive-portal detection: the probes and what the portal answers.

Before acceptance the gateway sends every HTTP request (TCP 80) of a client to the portal.
A request whose ``Host`` is not the portal's is a connectivity probe or ordinary browsing:
the answer is a ``302`` to the splash page, which every OS below treats as "captive" and
which makes it open its captive browser. The redirect target is always the configured
portal URL — nothing of the request goes into it, so there is no open redirect. After
acceptance the gateway stops intercepting the client, whose probes then reach the real
servers and get their own "online" answers listed in :data:`OS_PROBES`.

Known pitfalls, handled here and in the gateway:

* The answer carries ``Cache-Control: no-store``: a cached redirect would keep a browser on
  the portal after login.
* The portal never answers DNS: the gateway's resolver is truthful, so no device keeps a
  poisoned DNS answer after login (captive portals that resolve everything to themselves
  leave phones offline until the DNS TTL expires).
* The iOS captive browser keeps no cookies between sheets: forms use cookie-free tokens
  (:mod:`villenum.portal._csrf`) and the language travels in the form.
* HTTPS probes and DNS-over-TLS (853) are refused at once by the gateway rather than
  timed out, so an OS falls back to its HTTP probe quickly.

References
----------
RFC 8952, "Captive Portal Architecture", section 2.4 (detection), 2020.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, redirect, request
from werkzeug.wrappers import Response

bp = Blueprint("probes", __name__)


@dataclass(frozen=True)
class Probe:
    """One OS connectivity check: where it goes and the exact answer that means "online"."""

    os: str
    host: str
    path: str
    status: int
    body: bytes
    content_type: str = "text/plain"
    location: str = ""


# The online answers as served by the vendors' endpoints (body byte for byte).
OS_PROBES: tuple[Probe, ...] = (
    Probe("Android", "connectivitycheck.gstatic.com", "/generate_204", 204, b""),
    Probe("ChromeOS", "clients3.google.com", "/generate_204", 204, b""),
    Probe(
        "Apple iOS/macOS",
        "captive.apple.com",
        "/hotspot-detect.html",
        200,
        b"<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>",
        "text/html",
    ),
    Probe("Windows", "www.msftconnecttest.com", "/connecttest.txt", 200, b"Microsoft Connect Test"),
    # What Windows opens in the browser: online it forwards to Microsoft's start page.
    Probe(
        "Windows (browser)",
        "www.msftconnecttest.com",
        "/redirect",
        302,
        b"",
        location="https://go.microsoft.com/fwlink/?LinkID=219472&clcid=0x409",
    ),
    Probe(
        "Firefox",
        "detectportal.firefox.com",
        "/canonical.html",
        200,
        b'<meta http-equiv="refresh" content="0;url=https://support.mozilla.org/kb/'
        b'captive-portal"/>',
        "text/html",
    ),
    Probe(
        "NetworkManager",
        "nmcheck.gnome.org",
        "/check_network_status.txt",
        200,
        b"NetworkManager is online\n",
    ),
)


def portal_hosts() -> set[str]:
    """The host names under which the portal answers as itself."""
    from villenum.portal.app import services

    settings = services().settings
    hosts = {settings.portal_address}
    if settings.portal_hostname:
        hosts.add(settings.portal_hostname.lower())
    if settings.portal_address.startswith("127."):
        hosts.add("localhost")
    return hosts


@bp.before_app_request
def captive_redirect() -> Response | None:
    """Send every request for another host (a probe, a web page) to the splash page."""
    host = request.host.rsplit(":", 1)[0].strip("[]").lower() if request.host else ""
    if host in portal_hosts():
        return None
    from villenum.portal.app import services

    # 302, not 303/307: some probes (older Android, Windows) only recognise 302.
    return redirect(services().settings.portal_url, code=302)
