"""Feeding the legal log from conntrack events (``conntrack -E``).

A NATed flow is recorded when the kernel confirms it (``NEW``: the NAT mapping is known, so
the record that answers a requisition exists at once, even if the gateway later crashes) and
its end and volume when the kernel forgets it (``DESTROY``). Only flows from the LAN that
were masqueraded are kept; the destination is never recorded.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass

from villenum.errors import GatewayError
from villenum.hotspots.legal_log import LegalLog

log = logging.getLogger(__name__)

_LINE = re.compile(r"^\[(?P<ts>\d+\.\d+)\]\s+\[(?P<event>NEW|DESTROY)\]\s+(?P<rest>.*)$")


@dataclass(frozen=True)
class FlowEvent:
    """One parsed conntrack event of a LAN flow (``orig`` from the device, ``reply`` after NAT)."""

    event: str
    ts: float
    ct_id: str
    proto: str
    priv_ip: str
    priv_port: int | None
    pub_ip: str
    pub_port: int | None
    bytes: int | None


def parse_event(line: str) -> FlowEvent | None:
    """Parse one line of ``conntrack -E -o timestamp,id`` (``None`` for other lines).

    Examples
    --------
    >>> e = parse_event("[1795740398.298333]\\t    [NEW] tcp      6 120 SYN_SENT src=10.77.0.2 "
    ...     "dst=198.51.100.1 sport=40342 dport=80 [UNREPLIED] src=198.51.100.1 "
    ...     "dst=198.51.100.2 sport=80 dport=40342 id=2670283382")
    >>> (e.priv_ip, e.priv_port, e.pub_ip, e.pub_port)
    ('10.77.0.2', 40342, '198.51.100.2', 40342)
    """
    m = _LINE.match(line.strip())
    if not m:
        return None
    tokens = m["rest"].split()
    proto = tokens[0] if tokens and tokens[0] not in ("ipv4", "ipv6") else (tokens[2:3] or ["?"])[0]
    orig: dict[str, str] = {}
    reply: dict[str, str] = {}
    side, ct_id = orig, ""
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep:
            continue
        if key == "id":
            ct_id = value
        else:
            if key == "src" and "src" in orig:
                side = reply  # the second tuple is the reply direction, after NAT
            side.setdefault(key, value)
    if "src" not in orig or "dst" not in reply:
        return None
    total = None
    if "bytes" in orig or "bytes" in reply:
        total = int(orig.get("bytes", 0)) + int(reply.get("bytes", 0))
    return FlowEvent(
        event=m["event"],
        ts=float(m["ts"]),
        ct_id=ct_id,
        proto=proto,
        priv_ip=orig["src"],
        priv_port=_port(orig.get("sport")),
        pub_ip=reply["dst"],
        pub_port=_port(reply.get("dport")),
        bytes=total,
    )


def _port(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


class ConntrackWatcher:
    """Runs ``conntrack -E`` and writes the LAN's NATed flows to the legal log.

    Parameters
    ----------
    legal_log
        Where flows go.
    lan
        The LAN subnet; flows from elsewhere are ignored.
    exclude
        Addresses of the gateway itself on the LAN.
    mac_of
        ``mac_of(ip, time)``: the device that held ``ip`` then (the session store).
    """

    def __init__(
        self,
        legal_log: LegalLog,
        lan: ipaddress.IPv4Network,
        exclude: set[str],
        mac_of: Callable[[str, float], str | None],
    ) -> None:
        self.legal_log = legal_log
        self.lan = lan
        self.exclude = exclude
        self.mac_of = mac_of
        self._open: dict[str, str] = {}
        self._proc: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start listening (in a daemon thread)."""
        try:
            self._proc = subprocess.Popen(
                # -n: source-NATed flows only; the portal's and the resolver's own
                # connections, a crowd's worth, are not even parsed
                ["conntrack", "-E", "-e", "NEW,DESTROY", "-n", "-o", "timestamp,id"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                bufsize=1,
            )
        except FileNotFoundError:
            raise GatewayError(
                "the conntrack command is not installed (package conntrack)"
            ) from None
        self._thread = threading.Thread(target=self._read, name="conntrack", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening; flows still open keep ``end_s`` unknown in the log."""
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                event = parse_event(line)
                if event is not None:
                    self.handle(event)
            except Exception:  # one odd line must not stop the legal log
                log.exception("cannot record conntrack event %r", line)

    def handle(self, event: FlowEvent) -> None:
        """Write one event to the legal log if it is a NATed flow from a LAN device."""
        if event.pub_ip == event.priv_ip or event.priv_ip in self.exclude:
            return  # not masqueraded: the portal, the resolver, the gateway itself
        try:
            if ipaddress.IPv4Address(event.priv_ip) not in self.lan:
                return
        except ValueError:
            return
        key = f"{event.ct_id}@{event.priv_ip}:{event.priv_port}"
        if event.event == "NEW":
            flow_key = f"{key}@{event.ts:.6f}"
            self._open[key] = flow_key
            self.legal_log.append(
                "flow",
                mac=self.mac_of(event.priv_ip, event.ts),
                proto=event.proto,
                priv_ip=event.priv_ip,
                priv_port=event.priv_port,
                pub_ip=event.pub_ip,
                pub_port=event.pub_port,
                start_s=event.ts,
                flow_key=flow_key,
            )
        else:
            flow_key = self._open.pop(key, None)
            if flow_key is None:
                return  # started before this gateway ran: its start record is elsewhere
            self.legal_log.append("flow_end", flow_key=flow_key, end_s=event.ts, bytes=event.bytes)
