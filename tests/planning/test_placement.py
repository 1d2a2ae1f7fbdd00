"""Placement optimisation checked against brute force, theory and PySAL spopt."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp

from villenum.errors import PlanningError
from villenum.planning.placement import PlacementResult, maximal_coverage, set_cover

# PuLP 3 announces its 4.0 API on every variable spopt creates.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulp.*")


def random_instance(
    seed: int, n: int = 40, m: int = 12, density: float = 0.15
) -> tuple[sp.csr_array, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = sp.random_array((n, m), density=density, rng=rng, format="csr")
    return a, rng.integers(1, 20, n).astype(float)


def geometric_instance(
    seed: int, n: int, m: int, radius: float, size: float = 1000.0
) -> tuple[sp.csr_array, np.ndarray]:
    """Demand clustered around 'streets', candidates uniform, disc coverage: city-like."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    centres = rng.random((20, 2)) * size
    pts = centres[rng.integers(0, 20, n)] + rng.normal(0, size / 15, (n, 2))
    sites = rng.random((m, 2)) * size
    pairs = cKDTree(sites).query_ball_point(pts, radius)
    rows = np.repeat(np.arange(n), [len(p) for p in pairs])
    cols = np.concatenate([np.asarray(p, dtype=int) for p in pairs])
    a = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, m))
    return a, rng.integers(1, 50, n).astype(float)


def brute_max(
    a: sp.csr_array,
    w: np.ndarray,
    p: int,
    *,
    costs: np.ndarray | None = None,
    budget: float | None = None,
    fixed: tuple[int, ...] = (),
) -> float:
    dense = a.toarray() > 0
    m = dense.shape[1]
    best = 0.0
    free = [j for j in range(m) if j not in fixed]
    for k in range(p - len(fixed) + 1):
        for extra in itertools.combinations(free, k):
            s = list(fixed) + list(extra)
            if budget is not None and costs is not None and costs[s].sum() > budget + 1e-9:
                continue
            best = max(best, float(w[dense[:, s].any(axis=1)].sum()))
    return best


def value_of(a: sp.csr_array, w: np.ndarray, sites: np.ndarray) -> float:
    return float(w[(a.toarray()[:, sites] > 0).any(axis=1)].sum())


@pytest.mark.parametrize("seed", range(12))
def test_exact_equals_brute_force(seed: int) -> None:
    a, w = random_instance(seed)
    p = 2 + seed % 3
    res = maximal_coverage(a, w, p, method="exact")
    opt = brute_max(a, w, p)
    assert res.covered_weight == pytest.approx(opt)
    assert res.optimal and res.gap == pytest.approx(0.0, abs=1e-6)
    assert res.upper_bound >= opt - 1e-6
    assert len(res.sites) == p and np.all(np.diff(res.sites) > 0)
    assert value_of(a, w, res.sites) == pytest.approx(res.covered_weight)
    assert res.covered_fraction == pytest.approx(res.covered_weight / w.sum())


@pytest.mark.parametrize("seed", range(12))
def test_greedy_guarantee_and_bound(seed: int) -> None:
    a, w = random_instance(seed + 100, n=60, m=14, density=0.2)
    p = 3
    res = maximal_coverage(a, w, p, method="greedy")
    opt = brute_max(a, w, p)
    assert res.covered_weight >= (1 - 1 / math.e) * opt
    assert res.upper_bound >= opt - 1e-6  # a proven bound really bounds the optimum
    assert res.gap == pytest.approx((res.upper_bound - res.covered_weight) / res.upper_bound)


def test_auto_matches_exact_and_reports_bound() -> None:
    a, w = geometric_instance(1, n=3000, m=300, radius=60)
    auto = maximal_coverage(a, w, 25, method="auto", time_limit_s=60)
    ex = maximal_coverage(a, w, 25, method="exact", time_limit_s=60)
    assert ex.optimal
    assert auto.covered_weight == pytest.approx(ex.covered_weight, rel=1e-6)
    assert auto.upper_bound >= ex.covered_weight - 1e-6
    assert auto.method.startswith("auto/")


def test_fixed_sites_are_kept() -> None:
    a, w = random_instance(7, n=50, m=12, density=0.2)
    res = maximal_coverage(a, w, 4, method="exact", fixed=[0, 5])
    assert {0, 5} <= set(res.sites.tolist())
    assert res.covered_weight == pytest.approx(brute_max(a, w, 4, fixed=(0, 5)))
    greedy = maximal_coverage(a, w, 4, method="greedy", fixed=[0, 5])
    assert {0, 5} <= set(greedy.sites.tolist())


def test_reductions_keep_the_optimum_with_duplicates_and_dominated_sites() -> None:
    a, w = random_instance(3, n=30, m=8, density=0.25)
    dense = a.toarray() > 0
    # Duplicate every demand row and add candidates that are subsets of existing ones.
    rows = np.vstack([dense, dense])
    subset = dense[:, :4] & (np.arange(30)[:, None] % 2 == 0)
    big = sp.csr_array(np.hstack([rows, np.vstack([subset, subset])]).astype(float))
    ww = np.concatenate([w, w])
    res = maximal_coverage(big, ww, 3, method="exact")
    assert res.covered_weight == pytest.approx(brute_max(big, ww, 3))


@pytest.mark.parametrize("seed", range(6))
def test_budgeted_exact_and_greedy(seed: int) -> None:
    a, w = random_instance(seed + 200, n=50, m=11, density=0.2)
    costs = np.random.default_rng(seed).integers(1, 6, 11).astype(float)
    budget = 7.0
    opt = brute_max(a, w, 11, costs=costs, budget=budget)
    ex = maximal_coverage(a, w, 11, costs=costs, budget=budget, method="exact")
    assert ex.covered_weight == pytest.approx(opt)
    assert ex.cost is not None and ex.cost <= budget
    gr = maximal_coverage(a, w, 11, costs=costs, budget=budget, method="greedy")
    assert gr.cost is not None and gr.cost <= budget
    assert gr.covered_weight >= 0.5 * (1 - 1 / math.e) * opt  # Khuller et al. guarantee
    assert gr.upper_bound >= opt - 1e-6


def test_backup_coverage_covers_marked_points_twice() -> None:
    a, w = geometric_instance(5, n=800, m=120, radius=80)
    counts_all = np.diff(a.indptr)
    beach = np.flatnonzero(counts_all >= 2)[:40]
    for method in ("exact", "greedy"):
        res = maximal_coverage(a, w, 45, backup=beach, method=method)
        times = (a.tocsc()[:, res.sites].toarray() > 0).sum(axis=1)
        assert np.all(times[beach] >= 2), method
    plain = maximal_coverage(a, w, 45, method="exact")
    backed = maximal_coverage(a, w, 45, backup=beach, method="exact")
    assert backed.covered_weight <= plain.covered_weight + 1e-6  # backup has a price


def test_backup_infeasible_is_a_planning_error() -> None:
    a = sp.csr_array(np.array([[1, 1, 0, 0], [0, 0, 1, 1]], dtype=float))
    with pytest.raises(PlanningError, match="twice"):
        maximal_coverage(a, np.ones(2), 2, backup=[0, 1], method="exact")


@pytest.mark.parametrize("seed", range(8))
def test_set_cover_minimum_count(seed: int) -> None:
    a, _ = random_instance(seed + 300, n=40, m=12, density=0.2)
    dense = a.toarray() > 0
    coverable = dense.any(axis=1)
    minimum = next(
        k
        for k in range(13)
        if any(
            dense[:, list(s)].any(axis=1)[coverable].all()
            for s in itertools.combinations(range(12), k)
        )
    )
    for method in ("exact", "auto", "greedy"):
        res = set_cover(a, method=method)
        assert dense[:, res.sites].any(axis=1)[coverable].all(), method
        assert res.sites_lower_bound is not None and res.sites_lower_bound <= minimum
        if method != "greedy":
            assert len(res.sites) == minimum and res.optimal


def test_set_cover_partial_target() -> None:
    a, w = geometric_instance(2, n=1500, m=150, radius=70)
    full = set_cover(a, weights=w, method="exact")
    part = set_cover(a, weights=w, coverage_target=0.8, method="exact")
    coverable = w[np.diff(a.indptr) > 0].sum()
    assert part.covered_weight >= 0.8 * coverable - 1e-6
    assert len(part.sites) <= len(full.sites)
    assert full.covered_weight == pytest.approx(coverable)


@pytest.mark.parametrize("seed", range(3))
def test_same_objective_as_spopt_mclp(seed: int) -> None:
    pulp = pytest.importorskip("pulp")
    from spopt.locate import MCLP

    a, w = geometric_instance(seed + 400, n=400, m=60, radius=90)
    p = 8
    # spopt takes a distance matrix and a radius: covered pairs at 0, others at 2.
    cost = np.where(a.toarray() > 0, 0.0, 2.0)
    model = MCLP.from_cost_matrix(cost, w, service_radius=1.0, p_facilities=p)
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    spopt_value = float(pulp.value(model.problem.objective))
    ours = maximal_coverage(a, w, p, method="exact")
    assert ours.covered_weight == pytest.approx(spopt_value)


def test_larger_instance_proves_optimum_and_greedy_is_close() -> None:
    a, w = geometric_instance(9, n=20000, m=1000, radius=50, size=3000)
    ex = maximal_coverage(a, w, 60, method="exact", time_limit_s=90)
    assert ex.optimal and ex.gap <= 1e-6
    gr = maximal_coverage(a, w, 60, method="greedy")
    assert gr.covered_weight >= 0.99 * ex.covered_weight
    assert gr.upper_bound >= ex.covered_weight - 1e-6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights": np.ones(3)}, "weights has 3 values"),
        ({"n_sites": 99}, "out of range"),
        ({"weights": -np.ones(10)}, "non-negative"),
        ({"method": "magic"}, "method must be"),
        ({"fixed": [50]}, "fixed index 50"),
        ({"budget": 10.0}, "needs per-site costs"),
    ],
)
def test_bad_input_is_one_clear_planning_error(kwargs: dict, message: str) -> None:
    a, _ = random_instance(0, n=10, m=5)
    args = {"weights": np.ones(10), "n_sites": 2} | kwargs
    with pytest.raises(PlanningError, match=message):
        maximal_coverage(a, args.pop("weights"), args.pop("n_sites"), **args)


def test_result_is_a_placement_result_with_sorted_sites() -> None:
    a, w = random_instance(11)
    res = maximal_coverage(a, w, 3)
    assert isinstance(res, PlacementResult)
    assert res.seconds >= 0 and res.sites.dtype.kind == "i"
