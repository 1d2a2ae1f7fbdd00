"""``villenum portal``: the captive portal alone, without enforcement (development)."""

from __future__ import annotations

import argparse
from typing import Any

from villenum.cliutil import add_command, add_group


def register(groups: Any) -> None:
    """Add the ``portal`` command group."""
    commands = add_group(groups, "portal", "the captive portal without enforcement (development)")
    serve = add_command(
        commands, "serve", _serve, "serve the splash page, RFC 8908 API and admin API"
    )
    serve.add_argument("--config", help="gateway TOML (default: a loopback development portal)")
    serve.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="listen port (default 8080)")


def _serve(args: argparse.Namespace) -> int:
    import tempfile
    from dataclasses import replace
    from pathlib import Path

    from villenum.hotspots.gateway_config import GatewaySettings, load_gateway_settings
    from villenum.portal.app import create_app
    from villenum.portal.server import serve

    if args.config:
        settings = replace(load_gateway_settings(args.config), portal_port=args.port)
    else:
        settings = GatewaySettings(
            lan_interface="lo",
            wan_interface="lo",
            portal_address=args.host,
            portal_port=args.port,
            state_dir=Path(tempfile.gettempdir()) / "villenum-portal",
        )
    app = create_app(settings)
    print(f"portal (no enforcement) on http://{args.host}:{args.port}/ — Ctrl-C to stop")
    serve(app, args.host, args.port, settings)
    return 0
