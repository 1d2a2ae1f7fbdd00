"""Serving the portal: a production WSGI server in the calling process.

``villenum gateway run`` runs one portal process per CPU core, each with this server bound
with ``SO_REUSEPORT`` (:mod:`villenum.hotspots._gw_portal`); ``villenum portal serve`` runs
one in the foreground. cheroot (CherryPy's server) is preferred; without it, Werkzeug's threaded
server is used and a warning says so.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable

from flask import Flask

from villenum.errors import GatewayError
from villenum.hotspots.gateway_config import GatewaySettings

log = logging.getLogger(__name__)


def make_server(
    app: Flask,
    host: str,
    port: int,
    settings: GatewaySettings,
    threads: int = 32,
    reuse_port: bool = False,
) -> tuple[Callable[[], None], Callable[[], None]]:
    """Build a server for ``app`` on ``host:port``.

    Parameters
    ----------
    app
        The portal application.
    host, port
        Listen address.
    settings
        For TLS: ``https``, ``tls_cert`` and ``tls_key``.
    threads
        Worker threads (cheroot).
    reuse_port
        Set ``SO_REUSEPORT`` so that several portal processes share the port (cheroot only).

    Returns
    -------
    (run, stop)
        ``run()`` serves until ``stop()`` is called from another thread.

    Raises
    ------
    GatewayError
        If the address cannot be bound or the TLS files cannot be read.
    """
    context = None
    if settings.https:
        try:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(settings.tls_cert, settings.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise GatewayError(f"cannot load tls_cert/tls_key {settings.tls_cert}: {exc}") from None
    try:
        from cheroot import wsgi
    except ImportError:
        return _werkzeug(app, host, port, context)
    server = wsgi.Server(
        (host, port), app, numthreads=threads, server_name="villenum-portal", reuse_port=reuse_port
    )
    # a portal request is small: refuse huge headers and bodies before Flask sees them
    server.max_request_header_size = 16 * 1024
    server.max_request_body_size = 64 * 1024
    # a beach's worth of phones joining at once must queue, not be reset (default backlog: 5)
    server.request_queue_size = 1024
    if context is not None:
        from cheroot.ssl.builtin import BuiltinSSLAdapter

        adapter = BuiltinSSLAdapter(settings.tls_cert, settings.tls_key)
        adapter.context = context
        server.ssl_adapter = adapter
    try:
        server.prepare()
    except OSError as exc:
        raise GatewayError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return server.serve, server.stop


def _werkzeug(
    app: Flask, host: str, port: int, context: ssl.SSLContext | None
) -> tuple[Callable[[], None], Callable[[], None]]:
    from werkzeug.serving import make_server as wz_make_server

    log.warning("cheroot is not installed: serving the portal with Werkzeug's threaded server")
    try:
        server = wz_make_server(host, port, app, threaded=True, ssl_context=context)
    except OSError as exc:
        raise GatewayError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return server.serve_forever, server.shutdown


def serve(app: Flask, host: str, port: int, settings: GatewaySettings) -> None:
    """Serve ``app`` in the foreground until Ctrl-C."""
    run, stop = make_server(app, host, port, settings)
    try:
        run()
    except KeyboardInterrupt:
        stop()

