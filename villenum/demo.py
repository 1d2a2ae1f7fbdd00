"""``villenum demo``: the whole product on the embedded Biarritz data, from one command.

Stage 1 writes files: the city model → Wi-Fi coverage of the candidate sites → a plan of N access
points → its fibre backhaul → maps and reports in ``--out``. Stage 2 (skipped with
``--no-serve``) starts simulated SNMP agents standing in for the planned hotspots (they do not
exist yet: the agents are labelled simulated everywhere), the monitor with its live health map,
and the captive portal in development mode, all on 127.0.0.1, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from villenum.cliutil import add_verbose

MONITOR_PORT = 9100
PORTAL_PORT = 8080


def register(groups: Any) -> None:
    """Add the ``demo`` command (a group of its own, with no subcommands)."""
    parser = groups.add_parser(
        "demo",
        help="run the whole chain on the embedded Biarritz data",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    add_verbose(parser)
    parser.add_argument("--out", default="out", type=Path, help="output folder (default: out)")
    parser.add_argument("--city", default="biarritz", help="embedded city name or city folder")
    parser.add_argument("--aps", type=int, default=60, help="access points to plan (default 60)")
    parser.add_argument(
        "--no-serve", action="store_true", help="stop after writing the files (no live services)"
    )
    parser.add_argument("--monitor-port", type=int, default=MONITOR_PORT, help="monitor web port")
    parser.add_argument("--portal-port", type=int, default=PORTAL_PORT, help="portal web port")
    parser.add_argument(
        "--interval", type=float, default=15.0, help="seconds between monitor polls (15)"
    )
    parser.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """Run the file stage, then (unless ``--no-serve``) the live services until interrupted."""
    started = time.monotonic()
    outputs = write_files(args.city, args.out, n_aps=args.aps)
    print(f"\nfiles written in {time.monotonic() - started:.0f} s:")
    for role, path in outputs.items():
        print(f"  {role:22s} {path}")
    if args.no_serve:
        return 0
    return serve(
        outputs["plan: inventory"],
        args.out,
        monitor_port=args.monitor_port,
        portal_port=args.portal_port,
        interval_s=args.interval,
    )


def write_files(city_name: str, out: Path, *, n_aps: int) -> dict[str, Path]:
    """Stage 1: the city model, the Wi-Fi plan and its backhaul, maps and reports.

    Returns
    -------
    dict
        Output role → path (``plan: inventory`` lists the planned hotspots for the monitor).
    """
    from villenum.data import load_city
    from villenum.data.export import export_geopackage, summary_text
    from villenum.maps.city import write_city_map
    from villenum.planning.wifi import plan_wifi, write_plan

    _step("city model")
    city = load_city(city_name)
    print(summary_text(city))
    outputs = {
        "city model (GeoPackage)": export_geopackage(city, out / "city.gpkg"),
        "city map (HTML)": write_city_map(city, out / "city_map.html"),
    }
    _step(f"Wi-Fi coverage of the candidate sites, then a {n_aps}-AP plan and its fibre backhaul")
    plan = write_plan(plan_wifi(city, n_aps), out / "plan")
    outputs.update({f"plan: {role}": path for role, path in plan.items()})
    return outputs


def serve(
    inventory: Path, out: Path, *, monitor_port: int, portal_port: int, interval_s: float
) -> int:
    """Stage 2: simulated agents, the monitor and the portal on 127.0.0.1 until Ctrl-C."""
    from villenum.hotspots.inventory import load_inventory
    from villenum.hotspots.simulate import SimulatedAgents

    _step("live services (simulated hotspots)")
    with SimulatedAgents(load_inventory(inventory), out / "simulated_agents") as agents:
        villenum = [sys.executable, "-m", "villenum"]
        services = {
            "monitor": subprocess.Popen(
                [
                    *villenum,
                    "monitor",
                    "run",
                    "--inventory",
                    str(agents.inventory_path),
                    "--db",
                    str(out / "monitor.db"),
                    "--interval",
                    str(interval_s),
                    "--listen",
                    f"127.0.0.1:{monitor_port}",
                ]
            ),
            "portal": subprocess.Popen(
                [
                    *villenum,
                    "portal",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(portal_port),
                ]
            ),
        }
        print(
            f"\n{len(agents.hotspots)} SIMULATED hotspots answer SNMP on 127.0.0.1:{agents.port} "
            "(a few are degraded or silent on purpose).\n"
            f"  live health map     http://127.0.0.1:{monitor_port}/map\n"
            f"  hotspots as JSON    http://127.0.0.1:{monitor_port}/api/hotspots\n"
            f"  Prometheus metrics  http://127.0.0.1:{monitor_port}/metrics\n"
            f"  captive portal      http://127.0.0.1:{portal_port}/  (development mode, "
            "no enforcement)\n"
            "Press Ctrl-C to stop everything."
        )
        return _wait(services)


def _wait(services: dict[str, subprocess.Popen[bytes]]) -> int:
    # SIGTERM (e.g. from a service manager) stops the demo as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    status = 0
    try:
        while True:
            for name, proc in services.items():
                if proc.poll() is not None:
                    print(
                        f"villenum: error: the {name} stopped (status {proc.returncode})",
                        file=sys.stderr,
                    )
                    status = 1
                    raise KeyboardInterrupt
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C must not abandon the clean-up half-way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for proc in services.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in services.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        print("stopped.")
    return status


def _step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
