"""The admin API: token-protected JSON for sessions, kicking a device, and statistics.

The token comes from ``VILLENUM_ADMIN_TOKEN`` or the file named by ``admin_token_file``
(never from the repository); without one the admin API does not exist (404).
"""

from __future__ import annotations

import hmac
from dataclasses import asdict

from flask import Blueprint, abort, jsonify, request
from werkzeug.wrappers import Response

from villenum.portal.app import services

bp = Blueprint("admin", __name__, url_prefix="/admin/api")


@bp.before_request
def require_token() -> None:
    """Refuse any request without ``Authorization: Bearer <token>``."""
    token = services().settings.admin_token()
    if token is None:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not given.startswith("Bearer ") or not hmac.compare_digest(
        given[7:].encode("utf-8", "replace"), token.encode()
    ):
        abort(401)


@bp.get("/sessions")
def sessions() -> Response:
    """Active sessions (device, times, bytes) — no personal data beyond the MAC address."""
    return jsonify([asdict(s) for s in services().store.active()])


@bp.post("/sessions/<int:session_id>/kick")
def kick(session_id: int) -> Response:
    """End a session and cut the device off at once."""
    svc = services()
    session = svc.store.get(session_id)
    if session is None or session.ended_s is not None:
        abort(404)
    # End it in the store first: the gateway's housekeeping puts every device with an active
    # session back into the set, and could otherwise undo a revoke made just before.
    ended = svc.store.end(session_id, "kick")
    svc.enforcer.revoke(session.mac, session.ip)
    if ended is not None:
        svc.on_session("end", ended)
    return jsonify(asdict(ended) if ended else {})


@bp.get("/stats")
def stats() -> Response:
    """Counts for dashboards: active sessions, sessions and bytes over 24 h."""
    return jsonify(services().store.stats())
