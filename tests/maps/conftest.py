"""Helpers for the map tests: a local web server and small Lambert-93 layers."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# A point near the town hall of Biarritz, in Lambert-93 metres (EPSG:2154).
X0, Y0 = 336_400.0, 6_281_600.0


@pytest.fixture
def serve_dir() -> Iterator[Callable[[Path], str]]:
    """Serve a folder over HTTP on 127.0.0.1 (random port); returns its base URL."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def offsite() -> Callable[..., list[str]]:
    """``offsite(urls, host=None)``: the URLs that are not local files, data URIs or on host."""

    def check(urls: list[str], host: str | None = None) -> list[str]:
        allowed = ("file://", "data:", "about:", *((f"http://{host}/",) if host else ()))
        return [u for u in urls if not u.startswith(allowed)]

    return check
