"""Polling access points over SNMP (pysnmp 7, asyncio): one sample per hotspot and cycle.

A device is first *walked*: GETBULK requests whose non-repeaters fetch the scalars
(``sysUpTime``, UCD CPU and memory, ``sysDescr``/``sysObjectID`` on discovery) and whose
repeaters walk, side by side, the IF-MIB ``ifTable``/``ifXTable`` columns, ``hrProcessorLoad``
and the vendor profile's wireless columns (:mod:`villenum.hotspots.profiles`). The next polls
GET, in one request, just the instances the walk found (the uplink's row, the CPU rows, the
wireless rows); the device is walked again every ``walk_every`` polls, after a reboot or when
an instance vanishes. OIDs are numeric and requests are built with pysnmp's command
generators directly, bypassing the MIB resolution of pysnmp's high-level API. One
``SnmpEngine`` serves each event loop (:mod:`villenum.hotspots._snmp_engine`: its UDP socket's
receive buffer is sized for the answers in flight); a semaphore keeps at most ``concurrency``
devices in flight and every device has a deadline.

A failed poll carries a reason code: ``timeout`` (no SNMP answer), ``host-down`` (no answer to
ICMP echo either), ``snmp-down`` (the host answers ICMP echo but not SNMP), ``auth-failed``
(SNMPv3 credentials rejected), ``snmp-error`` (the agent returned an error status),
``bad-response`` (undecodable or inconsistent answer), ``resolve-failed`` (host name unknown),
``deadline`` (the device took longer than its deadline) and ``not-deployed`` (no address).

References
----------
RFC 3416 (SNMPv2 protocol operations, GetBulkRequest), RFC 3418 (SNMPv2-MIB), RFC 2863
(IF-MIB, 64-bit counters and ``ifCounterDiscontinuityTime``), RFC 3414 (USM), RFC 3826 (AES).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import socket
import time
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from villenum.hotspots.inventory import Hotspot
from villenum.hotspots.profiles import PROFILES, Column

SYS_DESCR = "1.3.6.1.2.1.1.1"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2"
SYS_UPTIME = "1.3.6.1.2.1.1.3"
# UCD-SNMP-MIB (Net-SNMP, OpenWrt): ssCpuIdle and memory in kB
UCD_CPU_IDLE = "1.3.6.1.4.1.2021.11.11"
UCD_MEM_TOTAL = "1.3.6.1.4.1.2021.4.5"
UCD_MEM_AVAIL = "1.3.6.1.4.1.2021.4.6"
UCD_MEM_BUFFER = "1.3.6.1.4.1.2021.4.14"
UCD_MEM_CACHED = "1.3.6.1.4.1.2021.4.15"
HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"

_IF = "1.3.6.1.2.1.2.2.1"
_IFX = "1.3.6.1.2.1.31.1.1.1"
IF_COLUMNS: dict[str, str] = {
    "descr": f"{_IF}.2",
    "type": f"{_IF}.3",
    "oper": f"{_IF}.8",
    "in_octets": f"{_IF}.10",
    "in_ucast": f"{_IF}.11",
    "in_discards": f"{_IF}.13",
    "in_errors": f"{_IF}.14",
    "out_octets": f"{_IF}.16",
    "out_ucast": f"{_IF}.17",
    "out_discards": f"{_IF}.19",
    "out_errors": f"{_IF}.20",
    "name": f"{_IFX}.1",
    "hc_in_octets": f"{_IFX}.6",
    "hc_out_octets": f"{_IFX}.10",
    "high_speed": f"{_IFX}.15",
    "discontinuity": f"{_IFX}.19",
}
_SOFTWARE_LOOPBACK = 24  # IANAifType softwareLoopback
_IEEE80211 = 71  # IANAifType ieee80211: a radio, the access side rather than the uplink
_MAX_REQUESTS = 8  # bulk continuations per poll; bounds the work a huge or looping table costs

REASONS = (
    "ok", "timeout", "host-down", "snmp-down", "auth-failed", "snmp-error", "bad-response",
    "resolve-failed", "deadline", "not-deployed",
)  # fmt: skip


@dataclass
class Interface:
    """Counters of one interface (the uplink) in one sample.

    ``counter_bits`` is 64 when the ifXTable high-capacity octet counters were read, 32 when
    only ``ifInOctets``/``ifOutOctets`` were available.
    """

    index: int
    name: str
    oper_up: bool
    in_octets: int | None = None
    out_octets: int | None = None
    counter_bits: int = 32
    in_packets: int | None = None
    out_packets: int | None = None
    in_errors: int | None = None
    out_errors: int | None = None
    in_discards: int | None = None
    out_discards: int | None = None
    speed_mbps: int | None = None
    discontinuity_cs: int | None = None
    if_type: int | None = None


@dataclass
class Sample:
    """What one poll of one hotspot returned (``ok`` False: ``reason`` says why)."""

    hotspot_id: str
    time_s: float
    ok: bool
    reason: str = "ok"
    detail: str = ""
    uptime_cs: int | None = None
    sys_descr: str | None = None
    sys_object_id: str | None = None
    uplink: Interface | None = None
    interfaces_up: int | None = None
    cpu_pct: float | None = None
    mem_pct: float | None = None
    clients: float | None = None
    channel_util_pct: float | None = None
    noise_dbm: float | None = None
    rtt_ms: float | None = None
    poll_s: float = 0.0
    varbinds: int = 0
    requests: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form (see :meth:`from_dict`)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sample:
        """Rebuild a sample stored with :meth:`to_dict` (unknown keys are ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if isinstance(values.get("uplink"), dict):
            values["uplink"] = Interface(**values["uplink"])
        return cls(**values)


@dataclass
class PollerOptions:
    """Timing and concurrency of a poll cycle.

    ``timeout_s`` and ``retries`` apply to each SNMP request; ``deadline_s`` bounds a whole
    device (discovery, bulk continuations, retries); ``concurrency`` bounds the devices in
    flight; ``max_repetitions`` is the first GETBULK's row count (later walks of the same
    device ask for as many rows as its tables had, plus one). Between walks, every
    ``walk_every`` polls, a poll GETs only the instances the last walk found (uplink row, CPU
    rows, wireless rows): about 25 varbinds instead of 70, which matters because BER decoding
    dominates the cost. ``processes`` > 1 shards the devices over worker processes
    (:mod:`villenum.hotspots._snmp_workers`) when one event loop is CPU-bound.
    """

    timeout_s: float = 1.0
    retries: int = 1
    deadline_s: float = 6.0
    concurrency: int = 50
    max_repetitions: int = 8
    probe: bool = True
    walk_every: int = 10
    processes: int = 1


@dataclass
class _DeviceCache:
    address: tuple[str, int] | None = None  # resolved once: a name is not looked up each poll
    unresolved: _PollError | None = None  # why resolving failed before this cycle's poll
    rows: int = 0
    uplink: str | None = None
    discovered: bool = False
    sys_descr: str | None = None
    sys_object_id: str | None = None
    # after a walk: the exact instances to GET, (prefix, suffix) each ("" suffix: a scalar)
    plan: list[tuple[str, str]] | None = None
    polls_since_walk: int = 0
    uptime_cs: int | None = None
    interfaces_up: int | None = None


@dataclass
class _Walk:
    """Accumulated GETBULK results: scalars by OID prefix, columns by OID -> {suffix: value}."""

    scalars: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    varbinds: int = 0
    requests: int = 0


class _PollError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class SnmpPoller:
    """Polls hotspots; keeps per-device discovery results between cycles.

    Parameters
    ----------
    options
        Timing and concurrency (defaults: 1 s timeout, 1 retry, 6 s deadline, 50 in flight).
    """

    def __init__(self, options: PollerOptions | None = None) -> None:
        self.options = options or PollerOptions()
        self._devices: dict[str, _DeviceCache] = {}
        self._pool: Any = None

    def close(self) -> None:
        """Stop the worker processes, if any."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    async def aclose(self) -> None:
        """Stop the workers and close the running loop's SNMP engines (sockets, timers)."""
        from villenum.hotspots._snmp_engine import close_engines

        await asyncio.to_thread(self.close)
        await close_engines()

    def remember_uplink(self, hotspot_id: str, name: str) -> None:
        """Seed the uplink found in an earlier run (the monitor restores it from its store)."""
        if self._pool is not None:
            self._pool.remember_uplink(hotspot_id, name)
        cache = self._devices.setdefault(hotspot_id, _DeviceCache())
        cache.uplink = cache.uplink or name

    async def poll_many(self, hotspots: Sequence[Hotspot]) -> list[Sample]:
        """Poll every hotspot (bounded concurrency); samples come back in input order."""
        if self.options.processes > 1:
            if self._pool is None:
                from villenum.hotspots._snmp_workers import WorkerPool

                self._pool = WorkerPool(self.options, self.options.processes)
            samples = await self._pool.poll(hotspots)
        else:
            semaphore = asyncio.Semaphore(max(1, self.options.concurrency))
            await self._configure_new(hotspots, semaphore)

            async def bounded(hotspot: Hotspot) -> Sample:
                async with semaphore:
                    return await self.poll(hotspot)

            samples = list(await asyncio.gather(*(bounded(h) for h in hotspots)))
        if self.options.probe:
            await _add_probe_results(hotspots, samples, self.options.timeout_s)
        return samples

    async def _configure_new(
        self, hotspots: Sequence[Hotspot], semaphore: asyncio.Semaphore
    ) -> None:
        """Resolve the new devices and configure their SNMP targets before polling any.

        Adding a target invalidates pysnmp's transport-to-tag map, which the next incoming
        message rebuilds by scanning every target: adding targets while answers arrive costs
        O(N²) (minutes for the first cycle of 2000 APs); adding them all first, one rebuild.
        """
        from villenum.hotspots._snmp_engine import configure, engine_for

        new = [h for h in hotspots if h.address is not None
               and self._devices.setdefault(h.id, _DeviceCache()).address is None]  # fmt: skip

        async def resolve(hotspot: Hotspot) -> None:
            cache, deadline = self._devices[hotspot.id], self.options.deadline_s
            async with semaphore:
                try:
                    cache.address = await asyncio.wait_for(_resolve(hotspot), deadline)
                except _PollError as exc:  # the poll reports it, without a second wait
                    cache.unresolved = exc
                except TimeoutError:
                    cache.unresolved = _PollError(
                        "resolve-failed", f"{hotspot.address} not resolved within {deadline:g} s"
                    )

        await asyncio.gather(*(resolve(h) for h in new))
        o = self.options
        for hotspot in new:
            if (address := self._devices[hotspot.id].address) is not None:
                await configure(engine_for(hotspot), hotspot, address, o.timeout_s, o.retries,
                                o.concurrency)  # fmt: skip

    async def poll(self, hotspot: Hotspot) -> Sample:
        """Poll one hotspot; never raises for a device problem (see ``Sample.reason``)."""
        started = time.monotonic()
        now = time.time()
        if hotspot.address is None:
            return Sample(hotspot.id, now, False, "not-deployed", "no management address")
        try:
            sample = await asyncio.wait_for(self._poll(hotspot), self.options.deadline_s)
        except TimeoutError:
            sample = Sample(
                hotspot.id,
                now,
                False,
                "deadline",
                f"no complete answer within {self.options.deadline_s:g} s",
            )
        except _PollError as exc:
            sample = Sample(hotspot.id, now, False, exc.reason, exc.detail)
        except Exception as exc:  # a hostile agent must never stop the cycle
            sample = Sample(hotspot.id, now, False, "bad-response", f"{type(exc).__name__}: {exc}")
        sample.poll_s = time.monotonic() - started
        return sample

    async def _poll(self, hotspot: Hotspot) -> Sample:
        from villenum.hotspots._snmp_engine import configure, engine_for

        entry = engine_for(hotspot)
        cache = self._devices.setdefault(hotspot.id, _DeviceCache())
        if cache.address is None:
            if cache.unresolved is not None:
                error, cache.unresolved = cache.unresolved, None
                raise error
            cache.address = await _resolve(hotspot)
        o = self.options
        addr_name = await configure(entry, hotspot, cache.address, o.timeout_s, o.retries,
                                    o.concurrency)  # fmt: skip
        engine = entry.engine
        profile = PROFILES[hotspot.vendor_profile]
        uplink = hotspot.uplink_if or cache.uplink
        walk = None
        # each device re-walks on its own beat: not the whole inventory in the same cycle
        every = max(1, self.options.walk_every)
        beat = every + zlib.crc32(hotspot.id.encode()) % every
        if cache.plan is not None and cache.polls_since_walk < beat:
            walk = await _get_plan(engine, addr_name, hotspot, cache.plan)
            uptime = _int(walk.scalars.get(SYS_UPTIME)) if walk is not None else None
            if uptime is not None and cache.uptime_cs is not None and uptime < cache.uptime_cs:
                walk = None  # rebooted: interfaces may have been renumbered, walk again
        if walk is None:
            walk = await self._walk(engine, addr_name, hotspot, cache, profile.wireless)
        else:
            cache.polls_since_walk += 1
        sample = _build_sample(hotspot, walk, profile.wireless, uplink)
        if cache.polls_since_walk == 0:
            cache.interfaces_up = sample.interfaces_up
            cache.plan = _plan(walk, sample.uplink, profile.wireless)
        else:
            sample.interfaces_up = cache.interfaces_up
        if sample.uplink is not None and hotspot.uplink_if is None:
            cache.uplink = sample.uplink.name  # sticky: a later outage of it must show
        cache.uptime_cs = sample.uptime_cs
        sample.sys_descr, sample.sys_object_id = cache.sys_descr, cache.sys_object_id
        return sample

    async def _walk(
        self, engine: Any, addr_name: str, hotspot: Hotspot, cache: _DeviceCache,
        wireless: dict[str, Column],
    ) -> _Walk:  # fmt: skip
        scalars = [SYS_UPTIME, UCD_CPU_IDLE, UCD_MEM_TOTAL, UCD_MEM_AVAIL, UCD_MEM_BUFFER,
                   UCD_MEM_CACHED]  # fmt: skip
        if not cache.discovered:
            scalars += [SYS_DESCR, SYS_OBJECT_ID]
        columns = [*IF_COLUMNS.values(), HR_PROCESSOR_LOAD]
        columns += sorted({c.oid for c in wireless.values()} - set(columns))
        reps = cache.rows + 1 if cache.rows else self.options.max_repetitions
        walk = await _bulk_walk(engine, addr_name, hotspot, scalars, columns, reps)
        cache.rows = max((len(v) for v in walk.columns.values()), default=0)
        cache.polls_since_walk = 0
        if SYS_DESCR in walk.scalars:
            cache.discovered = True
            cache.sys_descr = _text(walk.scalars.get(SYS_DESCR))
            cache.sys_object_id = _oid_text(walk.scalars.get(SYS_OBJECT_ID))
        return walk


def _plan(
    walk: _Walk, uplink: Interface | None, wireless: dict[str, Column]
) -> list[tuple[str, str]] | None:
    """The instances a walk found that later polls GET directly (None: keep walking)."""
    if uplink is None:
        return None  # nothing to follow: the next poll walks again, to find one
    plan = [(prefix, "") for prefix in walk.scalars if prefix not in (SYS_DESCR, SYS_OBJECT_ID)]
    index = str(uplink.index)
    has_name = index in walk.columns[IF_COLUMNS["name"]]
    for key, oid in IF_COLUMNS.items():
        if index in walk.columns[oid] and not (key == "descr" and has_name):
            plan.append((oid, index))
    plan += [(HR_PROCESSOR_LOAD, suffix) for suffix in walk.columns[HR_PROCESSOR_LOAD]]
    for col in {c.oid: c for c in wireless.values()}.values():
        rows = walk.columns.get(col.oid, {})
        wanted = [c.instance for c in wireless.values() if c.oid == col.oid and c.instance]
        plan += [(col.oid, suffix) for suffix in rows if not wanted or suffix in wanted]
    return plan


async def _get_plan(
    engine: Any, addr_name: str, hotspot: Hotspot, plan: list[tuple[str, str]]
) -> _Walk | None:
    """GET the planned instances; ``None`` if one vanished (the caller walks again)."""
    from pysnmp.proto import rfc1905

    oids = [f"{prefix}.{suffix or 0}" for prefix, suffix in plan]
    error, status, _, vbs = await _request(engine, addr_name, hotspot.context, -1, 0, oids)
    if error:
        raise _classify_error(error)
    if status:
        return None  # e.g. tooBig or noSuchName from an odd agent: a walk copes
    if len(vbs) != len(plan):
        raise _PollError("bad-response", f"{len(vbs)} varbinds for {len(plan)} requested")
    walk = _Walk(columns={prefix: {} for prefix, suffix in plan if suffix}, varbinds=len(vbs),
                 requests=1)  # fmt: skip
    for (prefix, suffix), (oid, value) in zip(plan, vbs, strict=True):
        if str(oid) != f"{prefix}.{suffix or 0}":
            raise _PollError("bad-response", f"agent answered {oid} for {prefix}.{suffix or 0}")
        if isinstance(value, _END_TYPES(rfc1905)):
            return None
        if suffix:
            walk.columns[prefix][suffix] = value
        else:
            walk.scalars[prefix] = value
    for oid in (*IF_COLUMNS.values(), HR_PROCESSOR_LOAD):
        walk.columns.setdefault(oid, {})
    return walk


def poll_hotspots(
    hotspots: Sequence[Hotspot], options: PollerOptions | None = None
) -> list[Sample]:
    """Poll hotspots once from synchronous code (runs its own event loop).

    Parameters
    ----------
    hotspots
        Inventory entries; those without an address give a ``not-deployed`` sample.
    options
        Timing and concurrency.

    Returns
    -------
    list of Sample
        One per hotspot, in input order.
    """
    poller = SnmpPoller(options)

    async def poll_and_close() -> list[Sample]:
        try:
            return await poller.poll_many(hotspots)
        finally:
            await poller.aclose()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(poll_and_close())
    # called from a thread whose event loop runs (a notebook, Playwright): use another
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, poll_and_close()).result()


async def _resolve(hotspot: Hotspot) -> tuple[str, int]:
    """The IPv4 address and port of the hotspot's agent."""
    assert hotspot.address is not None
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            hotspot.address, hotspot.port, family=socket.AF_INET, type=socket.SOCK_DGRAM,
            proto=socket.IPPROTO_UDP,
        )  # fmt: skip
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        raise _PollError("resolve-failed", f"cannot resolve {hotspot.address}: {exc}") from None
    host, port = infos[0][4][:2]
    return str(host), int(port)


async def _request(
    engine: Any, addr_name: str, context: str, non_repeaters: int, max_reps: int, oids: list[str]
) -> tuple[Any, int, int, Sequence[Any]]:
    """One GETBULK (``non_repeaters`` -1: one GET) of numeric OIDs, without MIB resolution."""
    from pysnmp.entity.rfc3413 import cmdgen
    from pysnmp.proto.api import v2c

    future: asyncio.Future[tuple[Any, int, int, Sequence[Any]]] = (
        asyncio.get_running_loop().create_future()
    )

    def done(_engine: Any, _handle: Any, error: Any, status: Any, index: Any, vbs: Any, _ctx: Any):
        if not future.done():
            future.set_result((error, int(status or 0), int(index or 0), vbs))

    varbinds = [(v2c.ObjectIdentifier(oid), v2c.null) for oid in oids]
    if non_repeaters < 0:
        cmdgen.GetCommandGenerator().send_varbinds(
            engine, addr_name, None, context.encode(), varbinds, done
        )
    else:
        cmdgen.BulkCommandGeneratorSingleRun().send_varbinds(
            engine, addr_name, None, context.encode(), non_repeaters, max_reps, varbinds, done
        )
    return await future


def _classify_error(error: Any) -> _PollError:
    from pysnmp.proto import errind

    text = str(error)
    if isinstance(error, errind.RequestTimedOut):
        return _PollError("timeout", "no SNMP answer")
    auth_errors = (
        errind.UnknownUserName, errind.WrongDigest, errind.UnknownSecurityName,
        errind.AuthenticationFailure, errind.DecryptionError, errind.UnsupportedSecurityLevel,
        errind.NotInTimeWindow,
    )  # fmt: skip
    if isinstance(error, auth_errors):
        return _PollError("auth-failed", f"SNMPv3 credentials rejected: {text}")
    return _PollError("bad-response", text)


async def _bulk_walk(
    engine: Any, addr_name: str, hotspot: Hotspot, scalars: list[str], columns: list[str],
    max_reps: int,
) -> _Walk:  # fmt: skip
    """GETBULK the scalars once and walk the columns until each has left its prefix."""
    from pysnmp.proto import rfc1905

    walk = _Walk(columns={c: {} for c in columns})
    pending = {c: c for c in columns}  # column -> OID to continue from
    first = True
    while first or pending:
        nr = len(scalars) if first else 0
        cols = list(pending)
        oids = (scalars if first else []) + [pending[c] for c in cols]
        reps = max(1, min(max_reps, 60 // max(1, len(cols)) + 1)) if not first else max_reps
        error, status, index, vbs = await _request(
            engine, addr_name, hotspot.context, nr, reps, oids
        )
        walk.requests += 1
        if error:
            raise _classify_error(error)
        if status:
            if status == 1 and max_reps > 1:  # tooBig: the agent wants smaller answers
                max_reps = max(1, max_reps // 2)
                continue
            raise _PollError("snmp-error", f"agent answered error-status {status} (index {index})")
        walk.varbinds += len(vbs)
        if len(vbs) > nr + reps * len(cols):  # RFC 3416 §4.2.3 bounds the answer
            raise _PollError("bad-response", f"{len(vbs)} varbinds, more than requested")
        if len(vbs) < nr:
            raise _PollError("bad-response", f"{len(vbs)} varbinds for {nr} requested scalars")
        for prefix, (oid, value) in zip(scalars if first else [], vbs[:nr], strict=False):
            if str(oid) == f"{prefix}.0" and not isinstance(value, _END_TYPES(rfc1905)):
                walk.scalars[prefix] = value
        rows = vbs[nr:]
        done: set[str] = set()
        # Repeater varbinds come row by row: len(cols) per repetition (RFC 3416 §4.2.3).
        for i, (oid, value) in enumerate(rows):
            col = cols[i % len(cols)]
            if col in done:
                continue
            text = str(oid)
            if isinstance(value, _END_TYPES(rfc1905)) or not text.startswith(col + "."):
                done.add(col)
                continue
            if _oid_key(text) <= _oid_key(pending[col]):
                raise _PollError("bad-response", f"agent returned non-increasing OID {text}")
            walk.columns[col][text[len(col) + 1 :]] = value
            pending[col] = text
        if len(rows) < len(cols) * reps:
            done.update(cols)  # a short answer means the agent had nothing more
        for col in done:
            pending.pop(col, None)
        first = False
        if walk.requests >= _MAX_REQUESTS:
            break
    return walk


def _END_TYPES(rfc1905: Any) -> tuple[type, ...]:  # noqa: N802 - a constant computed lazily
    return (rfc1905.EndOfMibView, rfc1905.NoSuchObject, rfc1905.NoSuchInstance)


def _oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(p) for p in oid.split("."))


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(int(value))
    except (TypeError, ValueError):
        try:  # NET-SNMP extend outputs are strings
            number = float(bytes(value).decode("ascii", "replace").strip())
        except (TypeError, ValueError):
            return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _num(value)
    return None if number is None else int(number)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return bytes(value).decode("utf-8", "replace")
    except TypeError:
        return str(value)


def _oid_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _build_sample(
    hotspot: Hotspot, walk: _Walk, wireless: dict[str, Column], uplink: str | None
) -> Sample:
    s = walk.scalars
    uptime = _int(s.get(SYS_UPTIME))
    if uptime is None:
        raise _PollError("bad-response", "the agent did not return sysUpTime.0")
    sample = Sample(hotspot.id, time.time(), True, uptime_cs=uptime)
    sample.varbinds, sample.requests = walk.varbinds, walk.requests
    idle = _num(s.get(UCD_CPU_IDLE))
    loads = [v for v in map(_num, walk.columns[HR_PROCESSOR_LOAD].values()) if v is not None]
    if loads:
        sample.cpu_pct = sum(loads) / len(loads)
    elif idle is not None and 0 <= idle <= 100:
        sample.cpu_pct = 100.0 - idle
    total = _num(s.get(UCD_MEM_TOTAL))
    avail = _num(s.get(UCD_MEM_AVAIL))
    if total and avail is not None and total > 0:
        # buffers and page cache are reclaimable: count them as free, as `free` does
        reclaim = (_num(s.get(UCD_MEM_BUFFER)) or 0.0) + (_num(s.get(UCD_MEM_CACHED)) or 0.0)
        sample.mem_pct = min(100.0, max(0.0, 100.0 * (total - avail - reclaim) / total))
    interfaces = _interfaces(walk)
    sample.interfaces_up = sum(1 for i in interfaces if i.oper_up)
    sample.uplink = _pick_uplink(interfaces, uplink)
    for metric, col in wireless.items():
        rows = walk.columns.get(col.oid, {})
        raw = [rows.get(col.instance)] if col.instance else list(rows.values())
        values = [v for v in map(_num, raw) if v is not None]
        if values:
            reduce = {"sum": sum, "max": max, "mean": lambda x: sum(x) / len(x)}[col.reduce]
            setattr(sample, metric, float(reduce(values)))
    return sample


def _interfaces(walk: _Walk) -> list[Interface]:
    cols = {key: walk.columns[oid] for key, oid in IF_COLUMNS.items()}
    result = []
    for suffix in sorted(cols["oper"], key=lambda k: _oid_key(k)):

        def get(key: str, suffix: str = suffix) -> Any:
            return cols[key].get(suffix)

        hc_in, hc_out = _int(get("hc_in_octets")), _int(get("hc_out_octets"))
        use_hc = hc_in is not None and hc_out is not None
        iface = Interface(
            index=int(suffix),
            name=_text(get("name")) or _text(get("descr")) or f"if{suffix}",
            oper_up=_int(get("oper")) == 1,
            in_octets=hc_in if use_hc else _int(get("in_octets")),
            out_octets=hc_out if use_hc else _int(get("out_octets")),
            counter_bits=64 if use_hc else 32,
            in_packets=_int(get("in_ucast")),
            out_packets=_int(get("out_ucast")),
            in_errors=_int(get("in_errors")),
            out_errors=_int(get("out_errors")),
            in_discards=_int(get("in_discards")),
            out_discards=_int(get("out_discards")),
            speed_mbps=_int(get("high_speed")),
            discontinuity_cs=_int(get("discontinuity")),
            if_type=_int(get("type")),
        )
        if iface.if_type == _SOFTWARE_LOOPBACK or iface.name == "lo":
            continue
        result.append(iface)
    return result


def _pick_uplink(interfaces: Iterable[Interface], wanted: str | None) -> Interface | None:
    """The named interface, else the first up wired one, else the first wired, else a radio."""
    interfaces = list(interfaces)
    if wanted is not None:
        return next((i for i in interfaces if i.name == wanted), None)
    wired = [i for i in interfaces if i.if_type != _IEEE80211]
    return next(
        (i for i in wired if i.oper_up),
        wired[0] if wired else next((i for i in interfaces if i.oper_up), None),
    )


async def _add_probe_results(
    hotspots: Sequence[Hotspot], samples: list[Sample], timeout_s: float
) -> None:
    """ICMP-probe the hosts whose SNMP failed, to tell ``host-down`` from ``snmp-down``."""
    from villenum.hotspots._snmp_probe import ping_many

    failed = [
        (h, s) for h, s in zip(hotspots, samples, strict=True)
        if not s.ok and s.reason in ("timeout", "deadline") and h.address
    ]  # fmt: skip
    if not failed:
        return
    rtts = await asyncio.to_thread(ping_many, [h.address for h, _ in failed], timeout_s)
    if rtts is None:
        return  # no ICMP socket allowed (not root): keep the SNMP reason
    for hotspot, sample in failed:
        if hotspot.address not in rtts:
            continue  # not probed (IPv6 or unresolvable): keep the SNMP reason
        rtt = rtts[hotspot.address]
        if rtt is None:
            sample.reason = "host-down"
            sample.detail = "no answer to SNMP nor to ICMP echo"
        else:
            sample.reason, sample.rtt_ms = "snmp-down", float(rtt)
            sample.detail = f"host answers ICMP echo ({rtt:.1f} ms) but not SNMP"
