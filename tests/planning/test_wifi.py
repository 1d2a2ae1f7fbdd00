"""The Wi-Fi plan end to end on Biarritz: placement, fibre, tables, files, map, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyogrio
import pytest

from villenum.cli import main
from villenum.errors import PlanningError
from villenum.hotspots.inventory import load_inventory
from villenum.planning.candidates import candidate_sites
from villenum.planning.wifi import plan_wifi, write_plan

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cands(biarritz):
    return candidate_sites(biarritz, street_step_m=100.0, min_spacing_m=40.0)


@pytest.fixture(scope="module")
def plan(biarritz, cands):
    return plan_wifi(biarritz, 40, candidates=cands, progress=False, time_limit_s=60)


@pytest.fixture(scope="module")
def files(plan, tmp_path_factory):
    return write_plan(plan, tmp_path_factory.mktemp("plan"))


def test_plan_figures_are_consistent(biarritz, plan) -> None:
    assert len(plan.sites) == 40 and plan.sites["ap_id"].is_unique
    assert plan.placement.optimal or plan.placement.gap < 0.01
    whole = plan.zones.set_index("zone_id").loc["ALL"]
    assert whole["aps"] == 40
    assert whole["covered"] == pytest.approx(plan.weights[plan.covered].sum(), abs=1)
    assert plan.placement.covered_weight == pytest.approx(plan.weights[plan.covered].sum())
    per_zone = plan.zones[plan.zones["zone_id"] != "ALL"]
    assert per_zone["aps"].sum() == 40
    assert per_zone["demand"].sum() == pytest.approx(whole["demand"], abs=len(per_zone))
    # The busiest zone (the Grande Plage seafront in August) gets the most APs.
    busiest = per_zone.sort_values("demand").iloc[-1]
    assert busiest["aps"] == per_zone["aps"].max()
    lines = plan.bom[plan.bom["item"] != "TOTAL"]
    assert plan.total_eur == pytest.approx(lines["total_eur"].sum(), abs=0.05)
    ap_row = plan.bom[plan.bom["item"].str.startswith("outdoor Wi-Fi")]
    assert ap_row["quantity"].iloc[0] == 40
    assert plan.backhaul.optical.ok
    assert plan.backhaul.cost_eur <= plan.backhaul.baseline_cost_eur + 1e-6


def test_written_files_open_and_agree(biarritz, plan, files) -> None:
    layers = dict(pyogrio.list_layers(files["gpkg"]))
    assert {"ap_sites", "candidates", "trenches", "drops", "point_of_presence", "zones"} <= set(
        layers
    )
    sites = pyogrio.read_dataframe(files["gpkg"], layer="ap_sites")
    assert len(sites) == 40 and sites.crs.to_epsg() == 2154
    trenches = pyogrio.read_dataframe(files["gpkg"], layer="trenches")
    assert trenches["cost_eur"].sum() == pytest.approx(plan.backhaul.cost_eur, rel=1e-6)
    bom = pd.read_csv(files["bom"])
    assert bom["total_eur"].iloc[-1] == pytest.approx(plan.total_eur)
    summary = json.loads(files["summary_json"].read_text(encoding="utf-8"))
    assert summary["aps"] == 40 and summary["season"] == "peak"
    summary_md = files["summary_md"].read_text(encoding="utf-8")
    assert "Coverage per neighbourhood" in summary_md
    assert "© OpenStreetMap contributors" in summary_md
    hotspots = load_inventory(files["inventory"])
    assert [h.id for h in hotspots] == plan.sites["ap_id"].tolist()
    west, south, east, north = biarritz.boundary.to_crs("EPSG:4326").total_bounds
    for h in hotspots:
        assert west <= h.lon <= east and south <= h.lat <= north
        assert h.address is None  # planned: the admin fills the management address


@pytest.mark.chromium
def test_map_renders_offline(files, page) -> None:
    page.goto(files["map"].resolve().as_uri())
    page.wait_for_selector(".leaflet-overlay-pane canvas, .leaflet-overlay-pane svg")
    assert page.console_errors == []
    assert all(url.startswith(("file:", "data:")) for url in page.requested_urls)
    assert "Wi-Fi plan" in page.inner_text("body")
    assert "Planned access points" in page.content()


def test_budget_caps_the_whole_plan(biarritz, cands, plan) -> None:
    budget = 0.5 * plan.total_eur
    cheap = plan_wifi(
        biarritz,
        40,
        candidates=cands,
        budget_eur=budget,
        progress=False,
        time_limit_s=30,
        candidate_coverage=plan.candidate_coverage,
    )
    assert cheap.total_eur <= budget
    assert len(cheap.sites) < 40
    assert cheap.summary["covered"] < plan.summary["covered"]
    # A budget the unconstrained optimum fits in changes nothing.
    ample = plan_wifi(
        biarritz,
        40,
        candidates=cands,
        budget_eur=1.01 * plan.total_eur,
        progress=False,
        candidate_coverage=plan.candidate_coverage,
    )
    assert ample.summary["covered"] == pytest.approx(plan.summary["covered"])
    assert ample.total_eur <= 1.01 * plan.total_eur
    with pytest.raises(PlanningError, match="does not pay"):
        plan_wifi(
            biarritz,
            40,
            candidates=cands,
            budget_eur=1000.0,
            progress=False,
            candidate_coverage=plan.candidate_coverage,
        )


def test_off_season_and_beach_backup(biarritz, cands, plan) -> None:
    off = plan_wifi(
        biarritz,
        40,
        candidates=cands,
        season="off",
        progress=False,
        candidate_coverage=plan.candidate_coverage,
    )
    assert off.summary["demand"] == pytest.approx(biarritz.demand["weight_off"].sum(), abs=0.1)
    backed = plan_wifi(
        biarritz,
        40,
        candidates=cands,
        beach_backup=True,
        progress=False,
        candidate_coverage=plan.candidate_coverage,
        time_limit_s=60,
    )
    matrix = plan.candidate_coverage.sparse_coverage(-75.0, demand=biarritz.demand).tocsr()
    beach = biarritz.demand["place"].to_numpy() == "beach"
    reachable = np.diff(matrix.indptr)
    times = np.asarray(matrix[:, backed.placement.sites].sum(axis=1)).ravel()
    need = np.minimum(2, reachable)
    assert np.all(times[beach] >= need[beach])
    assert backed.summary["covered"] <= plan.summary["covered"] + 1e-6


def test_mismatched_candidate_coverage_is_refused(biarritz, cands, plan) -> None:
    with pytest.raises(PlanningError, match="other sites"):
        plan_wifi(
            biarritz,
            10,
            candidates=cands.iloc[:50],
            progress=False,
            candidate_coverage=plan.candidate_coverage,
        )


def test_cli_plan_wifi(biarritz, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    status = main(
        [
            "plan",
            "wifi",
            "--aps",
            "8",
            "--street-step",
            "150",
            "--min-spacing",
            "60",
            "--out",
            str(out),
            "--no-progress",
            "--time-limit",
            "30",
        ]
    )
    assert status == 0
    text = capsys.readouterr().out
    assert "8 APs from" in text and "total" in text
    for name in (
        "plan.gpkg",
        "bom.csv",
        "zones.csv",
        "summary.json",
        "summary.md",
        "map.html",
        "inventory.toml",
    ):
        assert (out / name).is_file(), name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--aps", "0"], "positive integer"),
        (["--aps", "5", "--pop", "somewhere"], "--pop must be LON,LAT"),
        (["--aps", "5", "--budget", "-3"], "budget"),
        (["--aps", "5", "--costs", "/nonexistent/costs.toml"], "not found"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(biarritz, tmp_path, capsys, args, message) -> None:
    status = main(
        [
            "plan",
            "wifi",
            *args,
            "--out",
            str(tmp_path / "o"),
            "--no-progress",
            "--street-step",
            "400",
            "--min-spacing",
            "200",
        ]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_existing_hotspots_are_kept_and_not_rebought(biarritz, tmp_path) -> None:
    from pathlib import Path

    import villenum.hotspots

    sample = Path(villenum.hotspots.__file__).parent / "inventory.sample.toml"
    cands = candidate_sites(biarritz, street_step_m=150.0, min_spacing_m=60.0, existing=sample)
    existing = cands[cands["source"] == "existing"]
    # One sample hotspot stands on the Côte des Basques sand, beyond the commune's land.
    assert 0 < len(existing) < len(load_inventory(sample))
    plan = plan_wifi(biarritz, len(existing) + 6, candidates=cands, progress=False)
    assert set(existing["candidate_id"]) <= set(plan.sites["ap_id"])
    ap_row = plan.bom[plan.bom["item"].str.startswith("outdoor Wi-Fi")]
    assert ap_row["quantity"].iloc[0] == 6
    assert len(plan.backhaul.drops) == 6
    files = write_plan(plan, tmp_path)
    planned = {h.id for h in load_inventory(files["inventory"])}
    assert len(planned) == 6 and not planned & set(existing["candidate_id"])
    with pytest.raises(PlanningError, match="already exist"):
        plan_wifi(
            biarritz,
            1,
            candidates=cands,
            progress=False,
            candidate_coverage=plan.candidate_coverage,
        )
