"""The exact maximal covering path: LP duals, fixing at the proof threshold, cutoff row.

Each building block is checked against brute-force enumeration of every plan, and the whole
path against instances whose optimum is known independently.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
import scipy.sparse as sp

from villenum.planning import _placement_exact as exact
from villenum.planning import _placement_greedy as greedy
from villenum.planning import _placement_lagrange as lagrange
from villenum.planning import _placement_milp as milp
from villenum.planning._placement_reduce import Instance, as_instance, merge_demand
from villenum.planning.placement import maximal_coverage


def geometric(seed: int, n: int, m: int, radius: float) -> tuple[sp.csr_array, np.ndarray]:
    """Demand clustered in a few blobs, uniform candidates, disc coverage (LP gaps appear)."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    centres = rng.random((6, 2)) * 1000.0
    pts = centres[rng.integers(0, 6, n)] + rng.normal(0, 90.0, (n, 2))
    sites = rng.random((m, 2)) * 1000.0
    pairs = cKDTree(sites).query_ball_point(pts, radius)
    rows = np.repeat(np.arange(n), [len(p) for p in pairs])
    cols = np.concatenate([np.asarray(p, dtype=int) for p in pairs])
    a = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, m))
    return a, rng.integers(1, 40, n).astype(float)


def k_cover(seed: int, n: int = 40, m: int = 12, k: int = 3) -> tuple[sp.csr_array, np.ndarray]:
    """Every demand point seen by exactly k random sites: small, with frequent LP gaps."""
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), k)
    cols = np.concatenate([rng.choice(m, k, replace=False) for _ in range(n)])
    a = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, m))
    return a, rng.integers(1, 40, n).astype(float)


def all_plans(a: sp.csr_array, w: np.ndarray, p: int) -> list[tuple[tuple[int, ...], float]]:
    dense = a.toarray() > 0
    return [
        (s, float(w[dense[:, list(s)].any(axis=1)].sum()))
        for s in itertools.combinations(range(dense.shape[1]), p)
    ]


def lp_of(
    a: sp.csr_array, w: np.ndarray, p: int, time_limit_s: float = 10
) -> tuple[Instance, milp.LpOutcome]:
    """The merged instance and its LP relaxation for ``p`` sites."""
    inst = merge_demand(as_instance(a, w))
    lp = milp.max_coverage_lp(inst, p, time_limit_s=time_limit_s)
    assert lp is not None
    return inst, lp


def with_lp_gap(seeds: range, p: int) -> list[tuple[sp.csr_array, np.ndarray]]:
    """Instances whose LP bound is strictly above the optimum, where fixing has work to do."""
    found = []
    for seed in seeds:
        a, w = k_cover(seed)
        _, lp = lp_of(a, w, p)
        if lp.bound > max(v for _, v in all_plans(a, w, p)) + 1e-6:
            found.append((a, w))
    assert len(found) >= 3, "the generator should give instances with an LP gap"
    return found


@pytest.mark.parametrize("seed", range(6))
def test_lp_duals_give_the_lp_bound_as_a_lagrangian_bound(seed: int) -> None:
    a, w = k_cover(seed)
    inst, lp = lp_of(a, w, 3)
    lag = lagrange.at_multipliers(inst, 3, lp.duals, np.zeros(inst.n_sites, dtype=bool))
    # Integrality property: the best multipliers close the Lagrangian dual at the LP value.
    assert lag.bound == pytest.approx(lp.bound, rel=1e-9)
    assert lag.bound >= max(v for _, v in all_plans(a, w, 3)) - 1e-9


def test_fixing_at_a_threshold_keeps_every_plan_reaching_it() -> None:
    p = 3
    checked = 0
    for a, w in with_lp_gap(range(12), p):
        inst, lp = lp_of(a, w, p)
        plans = all_plans(a, w, p)
        values = np.array(sorted({v for _, v in plans}))
        lag = lagrange.at_multipliers(inst, p, lp.duals, np.zeros(inst.n_sites, dtype=bool))
        # Thresholds at, between and below the best plan values (ties are the risky case).
        for threshold in values[-4:]:
            close, open_ = lagrange.fix_sites(inst, p, lag, float(threshold))
            for sites, value in plans:
                if value >= threshold:
                    chosen = np.zeros(inst.n_sites, dtype=bool)
                    chosen[list(sites)] = True
                    assert not (chosen & close).any() and (chosen | ~open_).all()
            checked += int(close.sum() + open_.sum())
    assert checked > 0, "fixing should fix some sites on these instances"


def test_reduced_costs_bound_every_plan_that_flips_a_site() -> None:
    """A plan that opens a site outside the top-p set (or leaves one of it) is worth no
    more than the bound minus that site's reduced cost — checked on every plan."""
    p = 3
    checked = 0
    for a, w in with_lp_gap(range(12), p):
        inst, lp = lp_of(a, w, p)
        lag = lagrange.at_multipliers(inst, p, lp.duals, np.zeros(inst.n_sites, dtype=bool))
        rc, top = lagrange.reduced_costs(inst, p, lag.scores)
        assert int(top.sum()) == p and (rc >= -1e-9).all()
        for sites, value in all_plans(a, w, p):
            chosen = np.zeros(inst.n_sites, dtype=bool)
            chosen[list(sites)] = True
            for j in np.flatnonzero(chosen ^ top):
                assert value <= lag.bound - rc[j] + 1e-6
                checked += int(rc[j] > 1e-9)
    assert checked > 0, "some flips should cost something on these instances"


@pytest.mark.parametrize("presolve", [True, False])
def test_proof_without_highs_heuristics_reaches_the_brute_force_optimum(presolve: bool) -> None:
    for p in (3, 4):
        for a, w in with_lp_gap(range(12), p):
            opt = max(v for _, v in all_plans(a, w, p))
            inst = merge_demand(as_instance(a, w))
            out = milp.max_coverage(
                inst,
                p,
                budget=None,
                time_limit_s=10,
                mip_rel_gap=1e-9,
                presolve=presolve,
                heuristics=False,
            )
            assert out.optimal and out.chosen is not None
            assert greedy.covered_weight(inst, out.chosen) == pytest.approx(opt)
            assert out.bound == pytest.approx(opt)


def test_lp_guided_incumbent_finds_the_optimum_of_small_instances() -> None:
    """The two RINS rounds (LP support, then cheap reduced costs) on instances with an LP gap:
    the plan handed to the proof is already optimal, as on Biarritz and the benchmarks."""
    for p in (3, 4):
        for a, w in with_lp_gap(range(12), p):
            opt = max(v for _, v in all_plans(a, w, p))
            inst, lp = lp_of(a, w, p)
            start, _ = greedy.lazy_greedy(inst, p)
            lag = lagrange.at_multipliers(inst, p, lp.duals, start)
            best, value = exact._improve(inst, p, lp, lag, start, time.perf_counter() + 10)
            assert int(best.sum()) == p
            assert value == pytest.approx(opt)


def test_cutoff_row_proves_a_bound_or_finds_the_plans_above_it() -> None:
    for a, w in with_lp_gap(range(12), 3):
        opt = max(v for _, v in all_plans(a, w, 3))
        inst = merge_demand(as_instance(a, w))
        above = milp.max_coverage(
            inst, 3, budget=None, time_limit_s=10, mip_rel_gap=1e-9, min_value=opt + 0.5
        )
        assert above.infeasible
        below = milp.max_coverage(
            inst, 3, budget=None, time_limit_s=10, mip_rel_gap=1e-9, min_value=opt - 0.5
        )
        assert not below.infeasible and below.chosen is not None
        assert greedy.covered_weight(inst, below.chosen) == pytest.approx(opt)


@pytest.mark.parametrize("gap", [1e-9, 1e-3, 0.02, 0.1])
def test_tolerance_is_proven_against_brute_force(gap: float) -> None:
    for a, w in with_lp_gap(range(12), 3):
        opt = max(v for _, v in all_plans(a, w, 3))
        res = maximal_coverage(a, w, 3, method="exact", mip_rel_gap=gap)
        assert res.upper_bound >= opt - 1e-6  # the proven bound really bounds the optimum
        assert res.optimal and res.gap <= gap
        assert res.covered_weight >= (1 - gap) * opt - 1e-6
        dense = a.toarray() > 0
        assert float(w[dense[:, res.sites].any(axis=1)].sum()) == pytest.approx(res.covered_weight)


def test_fixed_sites_stay_on_the_loose_path() -> None:
    for a, w in with_lp_gap(range(12), 4)[:3]:
        dense = a.toarray() > 0
        opt = max(
            float(w[dense[:, [0, 1, *extra]].any(axis=1)].sum())
            for extra in itertools.combinations(range(2, 12), 2)
        )
        res = maximal_coverage(a, w, 4, method="exact", fixed=[0, 1], mip_rel_gap=0.05)
        assert {0, 1} <= set(res.sites.tolist())
        assert res.upper_bound >= opt - 1e-6 and res.covered_weight >= 0.95 * opt - 1e-6


def test_independent_districts_reach_the_joint_optimum() -> None:
    """Block-diagonal instances: the optimum splits the sites between the blocks."""
    blocks = [k_cover(seed, n=20, m=5, k=2) for seed in (3, 4, 5)]
    a = sp.block_diag([b[0] for b in blocks], format="csr")
    w = np.concatenate([b[1] for b in blocks])
    dense = a.toarray() > 0
    best = max(
        float(w[dense[:, list(s)].any(axis=1)].sum())
        for s in itertools.combinations(range(a.shape[1]), 5)
    )
    for gap in (1e-9, 1e-3):
        res = maximal_coverage(a, w, 5, method="exact", mip_rel_gap=gap)
        assert res.upper_bound >= best - 1e-6
        assert res.covered_weight >= (1 - gap) * best - 1e-6


def test_lp_guided_incumbent_is_never_worse_than_its_starts() -> None:
    a, w = geometric(11, 3000, 300, 70.0)
    inst, lp = lp_of(a, w, 25, time_limit_s=30)
    start, _ = greedy.lazy_greedy(inst, 25)
    lag = lagrange.at_multipliers(inst, 25, lp.duals, start)
    best, value = exact._improve(inst, 25, lp, lag, start, time.perf_counter() + 30)
    assert int(best.sum()) == 25
    assert value == pytest.approx(greedy.covered_weight(inst, best))
    assert value >= greedy.covered_weight(inst, start)
    assert value <= lp.bound + 1e-6


def test_city_like_instance_within_the_requested_gap_of_the_optimum() -> None:
    a, w = geometric(21, 4000, 400, 70.0)
    tight = maximal_coverage(a, w, 30, method="exact", mip_rel_gap=1e-9, time_limit_s=120)
    loose = maximal_coverage(a, w, 30, method="exact", mip_rel_gap=1e-3, time_limit_s=120)
    assert tight.optimal and loose.optimal
    assert loose.upper_bound >= tight.covered_weight - 1e-6
    assert tight.upper_bound >= loose.covered_weight - 1e-6
    assert loose.covered_weight >= (1 - 1e-3) * tight.covered_weight
    # Not required by the tolerance, but the point of the LP-guided search: the loose solve
    # already returns the optimum (as CBC's full proof would).
    assert loose.covered_weight == pytest.approx(tight.covered_weight)
