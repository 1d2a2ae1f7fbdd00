"""Cookie-free CSRF tokens for the portal's forms.

The iOS captive browser (Captive Network Assistant) throws its cookies away when its sheet
closes and does not share them with Safari, so a token kept in a cookie session can fail
between showing the splash and accepting it. The token here is signed by the server and
bound to the client's IP address and to a time: another site cannot read it (same-origin
policy), another device cannot reuse it, and it needs no cookie.
"""

from __future__ import annotations

import hmac
from hashlib import sha256

from flask import current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

TOKEN_MAX_AGE_S = 6 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="villenum-portal-form")


def _client_tag(ip: str) -> str:
    return hmac.new(current_app.config["SECRET_KEY"], ip.encode(), sha256).hexdigest()[:16]


def make_token() -> str:
    """A form token for the requesting client."""
    return _serializer().dumps(_client_tag(request.remote_addr or ""))


def check_token(token: object) -> bool:
    """Whether ``token`` was made by :func:`make_token` for this client, recently, and the
    request comes from the portal's own origin when the browser says where it comes from."""
    if not isinstance(token, str) or len(token) > 512:
        return False
    origin = request.headers.get("Origin")
    if origin not in (None, "null") and origin != request.host_url.rstrip("/"):
        return False
    try:
        tag = _serializer().loads(token, max_age=TOKEN_MAX_AGE_S)
    except BadData:
        return False
    return isinstance(tag, str) and hmac.compare_digest(tag, _client_tag(request.remote_addr or ""))
