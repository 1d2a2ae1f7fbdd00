"""The splash page, the one-click acceptance, the status page and logout.

Nothing personal is asked: the click is the acceptance. The device is the TCP source address
and the MAC address the gateway's neighbour table has for it.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from villenum.hotspots.sessions import Session
from villenum.portal._csrf import check_token, make_token
from villenum.portal.app import select_language, services

bp = Blueprint("captive", __name__)


def _client_ip() -> str:
    # the socket's peer address: no proxy sits in front of the portal, so no X-Forwarded-For
    return request.remote_addr or ""


@bp.get("/")
def splash() -> str | Response:
    """The splash page, or the status page for a device that is already online."""
    svc = services()
    if svc.store.find_active(_client_ip()):
        return redirect(url_for("captive.status", lang=select_language()), code=303)
    return render_template("splash.html", token=make_token())


@bp.post("/accept")
def accept() -> tuple[str, int] | Response:
    """Accept the terms: open a session and let the device through."""
    svc = services()
    if not check_token(request.form.get("token")):
        return render_template("splash.html", token=make_token(), expired=True), 400
    ip = _client_ip()
    mac = svc.identify(ip)
    if mac is None and svc.enforcer.needs_mac:
        return render_template("error.html", code=409, name="no-device"), 409
    replaced: list[Session] = []
    session = svc.store.start(mac, ip, svc.settings.session_timeout_s, replaced)
    for old in replaced:
        if (old.mac, old.ip) != (mac, ip):
            svc.enforcer.revoke(old.mac, old.ip)  # the same device's old IP, or the IP's old device
        svc.on_session("end", old)
    try:
        svc.enforcer.allow(mac, ip, svc.settings.session_timeout_s)
    except Exception:
        svc.store.end(session.id, "error")
        raise
    svc.on_session("start", session)
    return redirect(url_for("captive.status", lang=select_language()), code=303)


@bp.get("/status")
def status() -> str | Response:
    """Whether the device is online and for how long."""
    svc = services()
    session = svc.store.find_active(_client_ip())
    if session is None:
        return redirect(url_for("captive.splash", lang=select_language()), code=303)
    now = svc.clock()
    quota = svc.settings.quota_mb * 1_000_000
    return render_template(
        "status.html",
        token=make_token(),
        minutes_remaining=(session.seconds_remaining(now) + 59) // 60,
        mb_remaining=(
            max(0, quota - session.bytes_up - session.bytes_down) // 1_000_000 if quota else None
        ),
    )


@bp.post("/logout")
def logout() -> Response | tuple[str, int]:
    """End the device's session at once."""
    svc = services()
    if not check_token(request.form.get("token")):
        abort(400)
    session = svc.store.find_active(_client_ip())
    if session is not None:
        ended = svc.store.end(session.id, "logout")  # before the revoke: see admin.kick
        svc.enforcer.revoke(session.mac, session.ip)
        if ended is not None:
            svc.on_session("end", ended)
    return redirect(url_for("captive.splash", lang=select_language()), code=303)


@bp.get("/privacy")
def privacy() -> str:
    """The GDPR notice: controller, purpose, data, retention, rights, DPO."""
    return render_template("privacy.html")


@bp.get("/terms")
def terms() -> str:
    """The terms of use the click accepts."""
    return render_template("terms.html")


@bp.get("/wifi4eu-config.js")
def wifi4eu_config() -> Response:
    """The variables the WiFi4EU snippet reads (served by us: the CSP forbids inline scripts)."""
    wifi4eu = services().settings.wifi4eu
    if not wifi4eu.enabled:
        abort(404)
    body = (
        "var wifi4euTimerStart = Date.now();\n"
        f"var wifi4euNetworkIdentifier = {json.dumps(wifi4eu.network_identifier)};\n"
        f"var wifi4euLanguage = {json.dumps(select_language())};\n"
        f"var selftestModus = {json.dumps(wifi4eu.self_test)};\n"
    )
    return Response(body, content_type="text/javascript")
