"""A fake Internet for the namespace tests: each OS probe's exact online answer, and DNS.

Run inside the "internet" namespace: ``python _fake_internet.py ADDRESS``. HTTP on port 80
answers the probes of :data:`villenum.portal.probes.OS_PROBES` byte for byte (by Host and
path) ``/bytes/N`` with N zero bytes, and anything else with a page naming the host and the
source address it saw; DNS on port 53 resolves every name to
ADDRESS except ``garden.example`` (the walled garden) which gets ADDRESS's neighbour ``.7``.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dnslib import QTYPE, RR, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from villenum.portal.probes import OS_PROBES

ADDRESS = sys.argv[1] if len(sys.argv) > 1 else "198.51.100.1"
GARDEN = ADDRESS.rsplit(".", 1)[0] + ".7"
ONLINE = {(p.host, p.path): p for p in OS_PROBES}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0]
        probe = ONLINE.get((host, self.path))
        if probe is not None:
            self.send_response(probe.status)
            self.send_header("Content-Type", probe.content_type)
            if probe.location:
                self.send_header("Location", probe.location)
            body = probe.body
        elif self.path.startswith("/bytes/") and self.path[7:].isdigit():
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            body = bytes(min(int(self.path[7:]), 50_000_000))
        else:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            # the source address as the Internet sees it: the test checks the legal log with it
            peer = f"{self.client_address[0]}:{self.client_address[1]}"
            body = f"hello {host}{self.path} from {peer}\n".encode()
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Resolver(BaseResolver):
    def resolve(self, request, handler):  # type: ignore[no-untyped-def]
        reply = request.reply()
        name = str(request.q.qname).rstrip(".")
        if request.q.qtype == QTYPE.A:
            address = GARDEN if name == "garden.example" else ADDRESS
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=60))
        return reply


if __name__ == "__main__":
    dns = DNSServer(Resolver(), port=53, address=ADDRESS, logger=DNSLogger("-request,-reply"))
    dns.start_thread()
    ThreadingHTTPServer.request_queue_size = 1024  # hundreds of clients probe at once
    http = ThreadingHTTPServer(("0.0.0.0", 80), Handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()
