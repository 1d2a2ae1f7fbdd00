"""Serving the portal: a production WSGI server in the calling process.

The portal runs inside ``villenum gateway run`` so that it shares the gateway's nftables
handle and session store; an embeddable thread-pool server is therefore used rather than a
pre-forking one. cheroot (CherryPy's server) is preferred; without it, Werkzeug's threaded
server is used and a warning says so.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable

from flask import Flask

from villenum.errors import GatewayError
from villenum.hotspots.gateway_config import GatewaySettings

log = logging.getLogger(__name__)


def make_server(
    app: Flask, host: str, port: int, settings: GatewaySettings, threads: int = 32
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
    server = wsgi.Server((host, port), app, numthreads=threads, server_name="villenum-portal")
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


def serve_in_thread(
    app: Flask, host: str, port: int, settings: GatewaySettings
) -> Callable[[], None]:
    """Serve ``app`` from a daemon thread; return the function that stops it."""
    run, stop = make_server(app, host, port, settings)
    thread = threading.Thread(target=run, name="portal", daemon=True)
    thread.start()

    def stop_and_join() -> None:
        stop()
        thread.join(timeout=5)

    return stop_and_join
