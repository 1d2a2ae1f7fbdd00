"""The Captive Portal API (RFC 8908), announced by DHCP option 114 (RFC 8910).

References
----------
RFC 8908, "Captive Portal API", section 5 (JSON keys), 2020.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, request

from villenum.portal.app import services

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/captive")
def captive_state() -> Response:
    """The client's captive state as ``application/captive+json``."""
    svc = services()
    settings = svc.settings
    session = svc.store.find_active(request.remote_addr or "")
    doc: dict[str, object] = {"captive": session is None, "user-portal-url": settings.portal_url}
    if settings.venue_info_url:
        doc["venue-info-url"] = settings.venue_info_url
    if session is not None:
        doc["seconds-remaining"] = session.seconds_remaining(svc.clock())
        if settings.quota_mb:
            used = session.bytes_up + session.bytes_down
            doc["bytes-remaining"] = max(0, settings.quota_mb * 1_000_000 - used)
        doc["can-extend-session"] = False
    response = Response(json.dumps(doc), content_type="application/captive+json")
    # RFC 8908 section 5: the state is per client and must not be cached by anyone.
    response.headers["Cache-Control"] = "private, no-store"
    return response
