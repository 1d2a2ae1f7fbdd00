"""Worker processes for the poller, when one event loop is CPU-bound.

pysnmp spends most of its time in pure-Python BER encoding and decoding, so one event loop
saturates one core at a few hundred devices per second. With ``PollerOptions.processes`` > 1
the hotspots are sharded by a stable hash of their id; each shard always goes to the same
worker, which keeps its own event loop, ``SnmpEngine`` and device cache (walk plans) from one
cycle to the next. Workers are stopped by :meth:`WorkerPool.close`, or exit when the parent's
end of their socket closes (the parent died); they ignore SIGINT and SIGTERM, which reach the
whole process group, so that the parent can finish its cycle first.

A worker is a fresh interpreter (:func:`villenum.hotspots._spawn.spawn_worker`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import zlib
from collections.abc import Sequence
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from villenum.hotspots._spawn import spawn_worker

if TYPE_CHECKING:
    from villenum.hotspots.inventory import Hotspot
    from villenum.hotspots.snmp import PollerOptions, Sample


def serve(fd: int) -> None:
    """A worker's life: poll the batches received on socket ``fd`` until told to stop."""
    from villenum.hotspots._snmp_engine import close_engines
    from villenum.hotspots.snmp import SnmpPoller

    # Ctrl-C and systemd's stop signal reach the whole process group: the parent finishes
    # its cycle and stops the workers; killed now, they would fail that cycle
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    conn = Connection(fd)
    try:
        poller = SnmpPoller(conn.recv())
    except EOFError:
        return
    # one loop for the worker's life: its engine and sockets serve every cycle
    with asyncio.Runner() as runner:
        while True:
            try:
                message = conn.recv()
            except EOFError:
                break
            if message is None:
                break
            hotspots, uplinks = message
            for hotspot_id, name in uplinks.items():
                poller.remember_uplink(hotspot_id, name)
            conn.send(runner.run(poller.poll_many(hotspots)))
        runner.run(close_engines())
    conn.close()


class WorkerPool:
    """``processes`` polling workers; :meth:`poll` shards hotspots over them."""

    def __init__(self, options: PollerOptions, processes: int) -> None:
        per_worker = replace(
            options, processes=1, probe=False, concurrency=max(1, options.concurrency // processes)
        )
        self._workers: list[tuple[subprocess.Popen[bytes], Connection]] = [
            spawn_worker("villenum.hotspots._snmp_workers:serve", per_worker)
            for _ in range(processes)
        ]
        self._uplinks: dict[str, str] = {}

    def remember_uplink(self, hotspot_id: str, name: str) -> None:
        """Forwarded to the worker owning the hotspot with its next poll."""
        self._uplinks[hotspot_id] = name

    async def poll(self, hotspots: Sequence[Hotspot]) -> list[Sample]:
        """Poll the hotspots across the workers; samples in input order."""
        shards: list[list[int]] = [[] for _ in self._workers]
        for i, hotspot in enumerate(hotspots):
            shards[zlib.crc32(hotspot.id.encode()) % len(self._workers)].append(i)

        async def run(worker: int, indices: list[int]) -> list[Sample]:
            conn = self._workers[worker][1]
            batch = [hotspots[i] for i in indices]
            uplinks = {h.id: self._uplinks.pop(h.id) for h in batch if h.id in self._uplinks}
            conn.send((batch, uplinks))
            return await asyncio.to_thread(conn.recv)

        results = await asyncio.gather(*(run(w, idx) for w, idx in enumerate(shards) if idx))
        samples: list[Any] = [None] * len(hotspots)
        for indices, shard in zip([idx for idx in shards if idx], results, strict=True):
            for i, sample in zip(indices, shard, strict=True):
                samples[i] = sample
        return samples

    def close(self) -> None:
        """Stop the workers."""
        for _, conn in self._workers:
            with contextlib.suppress(OSError):  # the worker may already be gone
                conn.send(None)
        for process, conn in self._workers:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.terminate()
                process.wait()
            conn.close()
        self._workers = []
