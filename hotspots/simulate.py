"""Simulated SNMP agents standing in for planned hotspots (SIMULATION ONLY, for demos).

Before a single access point is installed, an engineer or an admin can still see the monitor and
its health map work: :class:`SimulatedAgents` runs one snmpsim process on loopback that answers
for every hotspot of an inventory (one SNMP community each, data from
:func:`villenum.hotspots._snmp_simdata.ap_snmprec`) and writes the matching inventory. Every value
is illustrative and labelled so (``sysDescr`` says "simulated", names get a "[simulated]" tag);
a few hotspots are made degraded (uplink down) or silent (no agent), so that every state shows.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from villenum.errors import MonitorError
from villenum.hotspots._snmp_simdata import ap_snmprec
from villenum.hotspots.inventory import Hotspot, write_inventory

SIMULATED_TAG = "[simulated]"
# Every n-th hotspot is made degraded and every m-th silent, so the demo shows each state.
DEGRADED_EVERY = 9
SILENT_EVERY = 13


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _responder() -> str:
    found = shutil.which("snmpsim-command-responder") or str(
        Path(sys.executable).with_name("snmpsim-command-responder")
    )
    if not Path(found).exists():
        raise MonitorError("snmpsim is not installed (pip install snmpsim) — needed for the demo")
    return found


def wait_for_agent(
    port: int,
    community: str,
    proc: subprocess.Popen[bytes] | None = None,
    *,
    host: str = "127.0.0.1",
    timeout_s: float = 60.0,
) -> None:
    """Wait until an SNMP agent answers a v2c GET of sysUpTime.0.

    Parameters
    ----------
    port, host
        The agent's UDP endpoint.
    community
        A community the agent serves.
    proc
        The agent's process, if we started it: its early exit is reported at once.
    timeout_s
        How long to wait.

    Raises
    ------
    MonitorError
        If the agent exits or does not answer in time.
    """
    from pyasn1.codec.ber import encoder
    from pysnmp.proto.api import v2c

    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, community)
    pdu = v2c.GetRequestPDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_varbinds(pdu, [(v2c.ObjectIdentifier("1.3.6.1.2.1.1.3.0"), v2c.null)])
    v2c.apiMessage.set_pdu(message, pdu)
    packet = encoder.encode(message)
    deadline = time.monotonic() + timeout_s
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.3)
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                said = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
                raise MonitorError(f"the SNMP agent exited with status {proc.returncode} {said}")
            sock.sendto(packet, (host, port))
            try:
                sock.recvfrom(65535)
                return
            except TimeoutError:
                continue
    raise MonitorError(f"no SNMP agent answered on {host}:{port} within {timeout_s:.0f} s")


class SimulatedAgents:
    """One snmpsim process answering for every hotspot of an inventory, on 127.0.0.1.

    Parameters
    ----------
    hotspots
        The planned hotspots (e.g. from a plan's ``inventory.toml``).
    workdir
        Folder for the data files, the snmpsim cache and the simulated inventory.

    Examples
    --------
    >>> with SimulatedAgents(load_inventory("out/plan/inventory.toml"), Path("out/sim")) as sim:
    ...     run_monitor(sim.inventory_path)
    """

    def __init__(self, hotspots: list[Hotspot], workdir: Path) -> None:
        if not hotspots:
            raise MonitorError("the inventory has no hotspot to simulate")
        self.workdir = workdir
        self.port = _free_udp_port()
        self.inventory_path = workdir / "inventory.simulated.toml"
        self.hotspots = [self._simulated(i, h) for i, h in enumerate(hotspots)]
        self._proc: subprocess.Popen[bytes] | None = None

    def _simulated(self, index: int, hotspot: Hotspot) -> Hotspot:
        return replace(
            hotspot,
            name=f"{hotspot.name} {SIMULATED_TAG}",
            address="127.0.0.1",
            port=self.port,
            snmp_version="2c",
            community=f"sim{index:04d}",
            vendor_profile="openwrt",
        )

    def start(self) -> SimulatedAgents:
        """Write the data files and the inventory, start snmpsim and wait until it answers."""
        data = self.workdir / "data"
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        for index, hotspot in enumerate(self.hotspots, start=1):
            if index % SILENT_EVERY == 0:
                continue  # no data file: the agent ignores this community, as a dead AP would
            record = ap_snmprec(
                uplink_up=index % DEGRADED_EVERY != 0,
                clients=(index * 7) % 40,
                in_rate=200_000.0 + 50_000.0 * (index % 11),
            )
            (data / f"{hotspot.community}.snmprec").write_text(record)
        write_inventory(self.hotspots, self.inventory_path)
        args = [
            _responder(),
            f"--data-dir={data}",
            f"--cache-dir={self.workdir / 'cache'}",
            f"--agent-udpv4-endpoint=127.0.0.1:{self.port}",
            "--logging-method=null",
        ]
        env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}  # snmpsim refuses root otherwise
        self._proc = subprocess.Popen(
            args,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        live = next(h for i, h in enumerate(self.hotspots, start=1) if i % SILENT_EVERY)
        wait_for_agent(self.port, str(live.community), self._proc)
        return self

    def stop(self) -> None:
        """Stop snmpsim (the data files stay for inspection)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __enter__(self) -> SimulatedAgents:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
