"""``villenum gateway``: run the hotspot gateway, see its state, answer requisitions."""

from __future__ import annotations

import argparse
from typing import Any

from villenum.cliutil import add_command, add_group


def register(groups: Any) -> None:
    """Add the ``gateway`` command group."""
    commands = add_group(groups, "gateway", "hotspot gateway: nftables, captive portal, legal log")
    run = add_command(
        commands, "run", _run, "run rules, portal, dnsmasq and legal log in the foreground"
    )
    status = add_command(commands, "status", _status, "show whether it runs and who is online")
    rules = add_command(commands, "rules", _rules, "print the nftables table it installs")
    dns = add_command(commands, "dnsmasq-config", _dnsmasq, "print the dnsmasq configuration")
    who = add_command(
        commands, "log-who", _who, "answer a requisition: who had public IP X, port Y at time T"
    )
    verify = add_command(commands, "log-verify", _verify, "check the legal log's hash chain")
    purge = add_command(commands, "log-purge", _purge, "delete legal-log records past retention")
    for parser in (run, status, rules, dns, who, verify, purge):
        parser.add_argument("--config", required=True, help="gateway TOML file")
    for parser in (who, verify):
        parser.add_argument("--requester", required=True, help="who reads the log (logged)")
        parser.add_argument("--reason", required=True, help="why, e.g. the requisition number")
    who.add_argument("--ip", required=True, help="the hotspot's public IPv4 address")
    who.add_argument("--port", type=int, help="the public source port (default: any)")
    who.add_argument(
        "--at",
        required=True,
        help="time, ISO 8601 with a zone (2026-08-14T21:30:05+02:00) or Unix seconds",
    )
    who.add_argument("--out", help="write the requisition answer as JSON to this file")


def _settings(args: argparse.Namespace) -> Any:
    from villenum.hotspots.gateway_config import load_gateway_settings

    return load_gateway_settings(args.config)


def _run(args: argparse.Namespace) -> int:
    import os

    from villenum.errors import GatewayError
    from villenum.hotspots.gateway_run import run

    if os.geteuid() != 0:
        raise GatewayError("villenum gateway run needs root (nftables, sysctl, port 53)")
    return run(_settings(args))


def _status(args: argparse.Namespace) -> int:
    import time

    from villenum.hotspots.gateway_run import read_status
    from villenum.hotspots.sessions import SessionStore

    settings = _settings(args)
    status = read_status(settings.state_dir)
    if status is None:
        print(f"gateway: not running (state in {settings.state_dir})")
    else:
        print(f"gateway: running, pid {status['pid']}, portal {status['portal_url']}")
    path = settings.sessions_db
    if not path.exists():
        print("sessions: none yet")
        return 0 if status else 3
    store = SessionStore(path)
    active = store.active()
    now = time.time()
    print(f"sessions: {len(active)} active")
    for s in active:
        print(
            f"  #{s.id} {s.mac or '-'} {s.ip} {s.seconds_remaining(now) // 60} min left, "
            f"{(s.bytes_up + s.bytes_down) / 1e6:.1f} MB"
        )
    store.close()
    return 0 if status else 3


def _rules(args: argparse.Namespace) -> int:
    from villenum.hotspots.gateway import ruleset

    print(ruleset(_settings(args)), end="")
    return 0


def _dnsmasq(args: argparse.Namespace) -> int:
    from villenum.hotspots.dnsmasq import dnsmasq_config

    print(dnsmasq_config(_settings(args)), end="")
    return 0


def _legal_log(args: argparse.Namespace) -> Any:
    from villenum.errors import GatewayError
    from villenum.hotspots.legal_log import LegalLog

    path = _settings(args).legal_log_db
    if not path.exists():
        raise GatewayError(f"no legal log at {path}")
    return LegalLog(path)


def _who(args: argparse.Namespace) -> int:
    import json

    at_s = _parse_time(args.at)
    legal = _legal_log(args)
    if args.out:
        path = legal.requisition(
            args.ip, args.port, at_s, requester=args.requester, reason=args.reason, path=args.out
        )
        print(f"requisition answer written to {path}")
        return 0
    flows = legal.who(args.ip, args.port, at_s, requester=args.requester, reason=args.reason)
    print(json.dumps(flows, indent=2))
    return 0 if flows else 1


def _verify(args: argparse.Namespace) -> int:
    result = _legal_log(args).verify(requester=args.requester, reason=args.reason)
    if result.ok:
        print(f"legal log: hash chain intact ({result.records} records)")
        return 0
    print(f"legal log: hash chain BROKEN at record {result.first_bad_seq}")
    return 1


def _purge(args: argparse.Namespace) -> int:
    settings = _settings(args)
    count = _legal_log(args).purge(settings.gdpr.retention_days)
    print(f"legal log: {count} record(s) older than {settings.gdpr.retention_days} days purged")
    return 0


def _parse_time(text: str) -> float:
    from datetime import datetime

    from villenum.errors import GatewayError

    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise GatewayError(f"--at is neither ISO 8601 nor Unix seconds: {text!r}") from None
    if moment.tzinfo is None:
        raise GatewayError(f"--at needs a time zone (e.g. +02:00 or Z): {text!r}")
    return moment.timestamp()
