"""pysnmp engines for the poller: one per event loop, its targets configured by hand.

pysnmp's high-level API (``pysnmp.hlapi``) would configure targets for us, but importing it
drags in requests, jinja2, lark and pysmi for MIB compilation the poller never does: 13 MB
more in every polling process. The poller sends numeric OIDs with the command generators of
``pysnmp.entity.rfc3413``, so it only needs the engine's local configuration datastore
(communities, USM users, target parameters and addresses), written here with
``pysnmp.entity.config``.

The engine's UDP socket gets a receive buffer sized for ``concurrency`` answers in flight:
the kernel's default (208 KiB) holds about fifty loopback datagrams, and a busy event loop
(BER decoding is CPU-bound) lets more than that queue up, which the kernel drops and counts
in ``RcvbufErrors`` (the retries then cost a timeout each).

References
----------
RFC 3413 (SNMP applications: SNMP-TARGET-MIB), RFC 3414 (USM), RFC 3584 (community MIB).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from villenum.hotspots.inventory import Hotspot

_ANSWER_BYTES = 32 * 1024  # kernel memory (skb truesize) one answer of a few kB may take
_MAX_RCVBUF = 8 * 2**20


@dataclass
class Engine:
    """An ``SnmpEngine`` and what has been configured in it."""

    engine: Any
    users: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # v3 user -> its keys
    users_added: set[str] = field(default_factory=set)
    communities: dict[str, str] = field(default_factory=dict)  # community -> security name
    params: dict[tuple[str, str, int], str] = field(default_factory=dict)
    targets: dict[tuple[Any, ...], str] = field(default_factory=dict)
    transport: asyncio.Future[None] | None = None  # opening the UDP socket
    sock: socket.socket | None = None


# Per event loop: its engines (several only for v3 users sharing a name with different keys).
# The engines hold their loop, so an entry outlives a loop closed without close_engines():
# engine_for() forgets those when a new loop shows up.
_ENGINES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[Engine]]
_ENGINES = weakref.WeakKeyDictionary()


def engine_for(hotspot: Hotspot) -> Engine:
    """The engine of the running event loop that can carry ``hotspot``'s credentials.

    pysnmp's USM table holds one set of keys per user name: hotspots sharing a v3 user name
    with different keys get a second engine, and so on.
    """
    from pysnmp.entity.engine import SnmpEngine

    loop = asyncio.get_running_loop()
    if loop not in _ENGINES:
        for closed in [other for other in _ENGINES if other.is_closed()]:
            for entry in _ENGINES.pop(closed):
                if entry.sock is not None:
                    entry.sock.close()
    engines = _ENGINES.setdefault(loop, [])
    user = hotspot.user if hotspot.snmp_version == "3" else None
    keys = (hotspot.auth_protocol, hotspot.auth_key, hotspot.priv_protocol, hotspot.priv_key)
    for entry in engines:
        if user is None or entry.users.setdefault(user, keys) == keys:
            return entry
    entry = Engine(SnmpEngine(), {user: keys} if user else {})
    engines.append(entry)
    return entry


async def configure(
    entry: Engine, hotspot: Hotspot, address: tuple[str, int], timeout_s: float, retries: int,
    concurrency: int,
) -> str:  # fmt: skip
    """The name of the engine's target for ``hotspot`` at ``address``, configured if new."""
    from pysnmp.carrier.asyncio.dgram import udp
    from pysnmp.entity import config

    engine = entry.engine
    if hotspot.snmp_version == "2c":
        community = hotspot.community or ""
        if community not in entry.communities:
            entry.communities[community] = f"c{len(entry.communities)}"
            config.add_v1_system(engine, entry.communities[community], community)
        params_key = (entry.communities[community], "noAuthNoPriv", 1)
    else:
        user = hotspot.user or ""
        auth_protocol, priv_protocol = _USM_PROTOCOLS(config, hotspot)
        if user not in entry.users_added:
            entry.users_added.add(user)
            config.add_v3_user(
                engine, user, auth_protocol, hotspot.auth_key, priv_protocol,
                hotspot.priv_key if hotspot.priv_protocol else None,
            )  # fmt: skip
        params_key = (user, "authPriv" if hotspot.priv_protocol else "authNoPriv", 3)
    if params_key not in entry.params:
        entry.params[params_key] = f"p{len(entry.params)}"
        config.add_target_parameters(engine, entry.params[params_key], *params_key)
    if entry.transport is None:  # once, shared by the polls starting meanwhile
        entry.transport = asyncio.ensure_future(_open_transport(entry, concurrency))
    await asyncio.shield(entry.transport)  # a poll's deadline must not cancel the opening
    target_key = (address, entry.params[params_key], timeout_s, retries)
    if target_key not in entry.targets:
        entry.targets[target_key] = f"t{len(entry.targets)}"
        config.add_target_address(
            engine, entry.targets[target_key], udp.DOMAIN_NAME, address,
            entry.params[params_key], timeout_s * 100, retries,
        )  # fmt: skip
    return entry.targets[target_key]


def _USM_PROTOCOLS(config: Any, hotspot: Hotspot) -> tuple[Any, Any]:  # noqa: N802 - constants
    auth = {
        "SHA": config.USM_AUTH_HMAC96_SHA,
        "SHA-224": config.USM_AUTH_HMAC128_SHA224,
        "SHA-256": config.USM_AUTH_HMAC192_SHA256,
        "SHA-384": config.USM_AUTH_HMAC256_SHA384,
        "SHA-512": config.USM_AUTH_HMAC384_SHA512,
    }
    priv = {
        None: config.USM_PRIV_NONE,
        "AES": config.USM_PRIV_CFB128_AES,
        "AES-192": config.USM_PRIV_CFB192_AES_BLUMENTHAL,
        "AES-256": config.USM_PRIV_CFB256_AES_BLUMENTHAL,
        "AES-192-C": config.USM_PRIV_CFB192_AES,
        "AES-256-C": config.USM_PRIV_CFB256_AES,
    }
    return auth[hotspot.auth_protocol or "SHA"], priv[hotspot.priv_protocol]


async def _open_transport(entry: Engine, concurrency: int) -> None:
    """Give the engine pysnmp's UDP transport on a socket with a buffer for the answers."""
    from pysnmp.carrier.asyncio.dgram import udp
    from pysnmp.entity import config

    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    wanted = min(_MAX_RCVBUF, max(1, concurrency) * _ANSWER_BYTES)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, wanted)
    # the kernel caps SO_RCVBUF at net.core.rmem_max (and reports twice what it grants);
    # a privileged monitor may exceed that cap, as syslog daemons do
    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) < 2 * wanted:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUFFORCE, wanted)
    transport = udp.UdpAsyncioTransport(loop=loop)
    try:
        sock.bind(("0.0.0.0", 0))
        sock.setblocking(False)
        await loop.create_datagram_endpoint(lambda: transport, sock=sock)
    except BaseException:
        sock.close()
        raise
    config.add_transport(entry.engine, udp.DOMAIN_NAME, transport)
    entry.sock = sock


async def close_engines() -> None:
    """Close the running loop's engines: their sockets, and their timer tasks, awaited.

    pysnmp's dispatcher runs a timer task; merely cancelled before the loop closes, it would
    be destroyed pending ("Task was destroyed but it is pending!").
    """
    for entry in _ENGINES.pop(asyncio.get_running_loop(), []):
        dispatcher = entry.engine.transport_dispatcher
        timer = getattr(dispatcher, "loopingcall", None) if dispatcher is not None else None
        entry.engine.close_dispatcher()
        if timer is not None:
            await asyncio.gather(timer, return_exceptions=True)
