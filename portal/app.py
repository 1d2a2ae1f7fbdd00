"""The captive portal's Flask application factory.

The portal is the RFC 8952 "User Portal" and "Captive Portal API server". It owns no rule:
on acceptance it asks an *enforcer* (the nftables gateway in production, nothing under
``villenum portal serve``) to let the device through. The device is identified by the source
address of the TCP connection and the MAC address the kernel's neighbour table gives for it —
never by anything the request says.

References
----------
RFC 8952, "Captive Portal Architecture", 2020.
RFC 8908, "Captive Portal API", 2020.
RFC 8910, "Captive-Portal Identification in DHCP and Router Advertisements", 2020.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from flask import Flask, Request, Response, g, jsonify, render_template, request
from flask.sessions import SessionInterface, SessionMixin
from flask_babel import Babel
from werkzeug.exceptions import HTTPException

from villenum.errors import GatewayError
from villenum.hotspots.gateway_config import LANGUAGES, GatewaySettings
from villenum.hotspots.sessions import Session, SessionStore

LANGUAGE_NAMES = {
    "fr": "Français",
    "eu": "Euskara",
    "es": "Español",
    "en": "English",
    "de": "Deutsch",
}
# Forms and URLs of the portal are tiny; anything bigger is hostile or broken.
MAX_BODY_BYTES = 16 * 1024
_SWITCHABLE = {"captive.splash", "captive.status", "captive.privacy", "captive.terms"}


class Enforcer(Protocol):
    """What lets a device through the gateway (see :class:`villenum.hotspots.gateway.Gateway`)."""

    needs_mac: bool

    def allow(self, mac: str | None, ip: str, timeout_s: float) -> None:
        """Let the device ``(mac, ip)`` through for ``timeout_s`` seconds."""

    def revoke(self, mac: str | None, ip: str) -> None:
        """Stop letting the device through at once."""


class NullEnforcer:
    """Enforces nothing: the portal alone, for development (``villenum portal serve``)."""

    needs_mac = False

    def allow(self, mac: str | None, ip: str, timeout_s: float) -> None:
        """Do nothing."""

    def revoke(self, mac: str | None, ip: str) -> None:
        """Do nothing."""


def no_mac(ip: str) -> str | None:
    """The identity lookup used without a gateway: no MAC address is known."""
    return None


@dataclass
class PortalServices:
    """The portal's collaborators, kept in ``app.extensions["villenum"]``."""

    settings: GatewaySettings
    store: SessionStore
    enforcer: Enforcer = field(default_factory=NullEnforcer)
    identify: Callable[[str], str | None] = no_mac
    on_session: Callable[[str, Session], None] = lambda event, session: None
    clock: Callable[[], float] = time.time


def services() -> PortalServices:
    """The running application's :class:`PortalServices`."""
    from flask import current_app

    return current_app.extensions["villenum"]


def create_app(
    settings: GatewaySettings | None = None,
    *,
    store: SessionStore | None = None,
    enforcer: Enforcer | None = None,
    identify: Callable[[str], str | None] = no_mac,
    on_session: Callable[[str, Session], None] | None = None,
    clock: Callable[[], float] = time.time,
) -> Flask:
    """Create the portal application.

    Parameters
    ----------
    settings
        The gateway settings; by default a loopback development portal with its state in a
        temporary folder.
    store
        The session store; by default ``sessions.sqlite`` in ``settings.state_dir``.
    enforcer
        What lets accepted devices through; by default :class:`NullEnforcer`.
    identify
        Maps a client IPv4 address to its MAC address (the gateway's neighbour table).
    on_session
        Called with ``("start" | "end", session)`` — the gateway writes the legal log there.
    clock
        Unix time in seconds (injectable for tests).

    Returns
    -------
    flask.Flask
    """
    if settings is None:
        settings = GatewaySettings(
            lan_interface="lo",
            wan_interface="lo",
            portal_address="127.0.0.1",
            state_dir=Path(tempfile.mkdtemp(prefix="villenum-portal-")),
        )
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    store = store or SessionStore(settings.sessions_db, clock=clock)
    app = Flask(__name__)
    app.session_interface = _NoCookieSession()
    app.config.update(
        SECRET_KEY=_secret_key(settings.state_dir),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_BODY_BYTES,
        BABEL_DEFAULT_LOCALE=settings.default_language,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).with_name("translations")),
        PREFERRED_URL_SCHEME="https" if settings.https else "http",
    )
    app.extensions["villenum"] = PortalServices(
        settings=settings,
        store=store,
        enforcer=enforcer or NullEnforcer(),
        identify=identify,
        on_session=on_session or (lambda event, session: None),
        clock=clock,
    )
    Babel(app, locale_selector=select_language)

    from villenum.portal import admin, api, captive, probes

    app.register_blueprint(probes.bp)
    app.register_blueprint(captive.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(GatewayError, _gateway_error)

    @app.context_processor
    def _globals() -> dict[str, object]:
        endpoint = request.endpoint if request.method == "GET" else None
        return {
            "settings": settings,
            "languages": LANGUAGE_NAMES,
            "current_language": select_language(),
            # the language links reload the page being read, or the splash after a POST
            "switch_endpoint": endpoint if endpoint in _SWITCHABLE else "captive.splash",
        }

    return app


class _NoCookieSession(SessionInterface):
    """The portal keeps no cookie session: forms carry their own token (see ``_csrf``) and
    nothing about the visitor is remembered; this also spares every request a signed-cookie
    round trip."""

    def open_session(self, app: Flask, request: Request) -> None:
        return None  # Flask falls back to its empty, read-only NullSession

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        return None


def select_language() -> str:
    """The page language: ``?lang=``, the ``lang`` form field or cookie, then Accept-Language."""
    if "villenum_lang" in g:  # asked by Babel for every string: decide once per request
        return g.villenum_lang
    lang = next(
        (
            c
            for c in (request.args.get("lang"), _form_lang(), request.cookies.get("lang"))
            if c in LANGUAGES
        ),
        None,
    )
    lang = lang or request.accept_languages.best_match(LANGUAGES)
    g.villenum_lang = lang or services().settings.default_language
    return g.villenum_lang


def _form_lang() -> str | None:
    if request.method != "POST":
        return None
    try:
        return request.form.get("lang")
    except HTTPException:  # an oversized or malformed body: its error page still needs a language
        return None


def _secret_key(state_dir: Path) -> bytes:
    """The signing key, kept in the state folder so that a restart keeps forms valid."""
    path = state_dir / "portal_secret"
    if not path.exists():
        # portal workers start together: the first link wins, every worker reads its key
        draft = path.with_name(f".portal_secret.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return path.read_bytes()


def _security_headers(response: Response) -> Response:
    # no-store everywhere: a browser that cached the portal's redirect for some site would
    # keep showing the portal there after login.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Content-Security-Policy", _csp())
    response.headers["X-Content-Type-Options"] = "nosniff"
    # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on POST
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        response.set_cookie("lang", lang, max_age=30 * 86400, samesite="Lax", httponly=True)
    return response


def _csp() -> str:
    script = "'none'"
    settings = services().settings
    if settings.wifi4eu.enabled:
        # the Commission's snippet is the only third-party resource, and only in WiFi4EU mode
        script = "/".join(settings.wifi4eu.snippet_url.split("/", 3)[:3])
    return (
        f"default-src 'self'; script-src {script}; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def _http_error(exc: HTTPException) -> tuple[str | Response, int]:
    code = exc.code or 400
    if request.path.startswith(("/api/", "/admin/api/")):
        return jsonify({"error": exc.name}), code
    return render_template("error.html", code=code, name=exc.name), code


def _gateway_error(exc: GatewayError) -> tuple[str, int]:
    return render_template("error.html", code=503, name="Service Unavailable"), 503
