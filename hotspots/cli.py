"""``villenum monitor``: poll the hotspots over SNMP, once or as a long-running service."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from villenum.cliutil import add_command, add_group
from villenum.errors import MonitorError


def register(groups: Any) -> None:
    """Add the ``monitor`` command group."""
    commands = add_group(groups, "monitor", "watch the hotspots over SNMP: health, alerts, map")
    poll = add_command(commands, "poll", _poll, "poll every hotspot once and print the statuses")
    _common(poll)
    poll.add_argument("--once", action="store_true", help="one cycle (the only mode of poll)")
    poll.add_argument("--json", action="store_true", help="print JSON (the documented contract)")
    run = add_command(commands, "run", _run, "run the monitor with its admin web app and /metrics")
    _common(run)
    run.add_argument("--interval", type=float, default=60.0, help="seconds between polls (60)")
    run.add_argument(
        "--listen", default="127.0.0.1:9100", help="admin app address (127.0.0.1:9100); '' = none"
    )
    run.add_argument("--token", help="bearer token for the admin app (needed off loopback)")
    run.add_argument("--webhook", help="URL receiving alerts as JSON POSTs")
    run.add_argument("--alert-delay", type=float, default=30.0, help="seconds before alerting")
    run.add_argument("--renotify", type=float, default=3600.0, help="re-alert interval, seconds")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inventory", required=True, type=Path, help="hotspot inventory TOML")
    parser.add_argument("--db", type=Path, default=Path("monitor.db"), help="SQLite store")
    parser.add_argument("--concurrency", type=int, default=50, help="devices in flight (50)")
    parser.add_argument(
        "--processes", type=int, default=1, help="polling processes (1; 2+ for thousands of APs)"
    )
    parser.add_argument("--timeout", type=float, default=1.0, help="SNMP timeout, seconds (1)")
    parser.add_argument("--retries", type=int, default=1, help="SNMP retries (1)")
    parser.add_argument("--down-after", type=int, default=3, help="failures before down (3)")
    parser.add_argument("--up-after", type=int, default=2, help="successes before up again (2)")


def _config(args: argparse.Namespace, interval_s: float = 60.0) -> Any:
    from villenum.hotspots.alerts import AlertConfig
    from villenum.hotspots.health import HealthConfig
    from villenum.hotspots.monitor import MonitorConfig
    from villenum.hotspots.snmp import PollerOptions

    for name in ("concurrency", "processes", "retries", "down_after", "up_after"):
        if getattr(args, name) < (0 if name == "retries" else 1):
            raise MonitorError(
                f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}"
            )
    if args.timeout <= 0 or interval_s <= 0:
        raise MonitorError("--timeout and --interval must be positive")
    return MonitorConfig(
        interval_s=interval_s,
        retry_interval_s=min(10.0, interval_s),
        health=HealthConfig(
            down_after=args.down_after, up_after=args.up_after, interval_s=interval_s
        ),
        poller=PollerOptions(
            timeout_s=args.timeout,
            retries=args.retries,
            concurrency=args.concurrency,
            processes=args.processes,
            deadline_s=max(6.0, args.timeout * (args.retries + 1) * 3),
        ),
        alerts=AlertConfig(
            delay_s=getattr(args, "alert_delay", 30.0),
            renotify_s=getattr(args, "renotify", 3600.0),
            webhook_url=getattr(args, "webhook", None),
        ),
    )


def _poll(args: argparse.Namespace) -> int:
    import asyncio

    from villenum.hotspots.inventory import load_inventory
    from villenum.hotspots.monitor import Monitor
    from villenum.hotspots.store import Store

    hotspots = load_inventory(args.inventory)
    config = _config(args)
    with Store(args.db) as store:
        monitor = Monitor(hotspots, store, config)

        async def once() -> list[dict[str, Any]]:
            try:
                return await monitor.cycle()
            finally:
                await monitor.aclose()

        statuses = asyncio.run(once())
    if args.json:
        json.dump({"hotspots": statuses}, sys.stdout, indent=1, ensure_ascii=False)
        print()
        return 0
    for s in statuses:
        rates = s["rates"]
        rate = (
            f"{rates['uplink_in_bps'] / 1e6:7.2f}/{rates['uplink_out_bps'] / 1e6:7.2f} Mbit/s"
            if rates["uplink_in_bps"] is not None and rates["uplink_out_bps"] is not None
            else f"{'(' + rates['note'] + ')':>21}"
        )
        print(f"{s['id']:<24} {s['state']:<9} {s['score']:>3} {rate}  {s['reason']}")
    return 0


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import signal
    import threading

    from villenum.hotspots.inventory import load_inventory
    from villenum.hotspots.monitor import Monitor
    from villenum.hotspots.store import Store

    hotspots = load_inventory(args.inventory)
    config = _config(args, args.interval)
    host, port = _parse_listen(args.listen) if args.listen else (None, None)
    if host is not None and not args.token and not host.startswith("127.") and host != "localhost":
        raise MonitorError(f"--listen {args.listen} is off loopback: give --token to protect it")
    logging.getLogger("villenum").setLevel(min(logging.getLogger().level, logging.INFO))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Store(args.db) as store:
        monitor = Monitor(hotspots, store, config)
        server = None
        if host is not None:
            from villenum.hotspots.admin_app import serve_in_thread

            server = serve_in_thread(
                {"MONITOR_DB": str(args.db), "MONITOR_TOKEN": args.token,
                 "MONITOR_REFRESH_S": min(30, int(args.interval))},
                host, port,
            )  # fmt: skip
            print(
                f"villenum monitor: admin app on http://{args.listen}/ (map at /map)",
                file=sys.stderr,
            )
        try:
            asyncio.run(monitor.run(stop))
        except KeyboardInterrupt:
            stop.set()
        finally:
            if server is not None:
                server.shutdown()
    return 0


def _parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise MonitorError(f"--listen must be HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)
