"""Where the access points go: maximal covering and set covering on a coverage matrix.

``coverage`` is a scipy.sparse matrix of demand points × candidate sites whose nonzero
entries mean "this site serves this point" (e.g. ``CoverageResult.sparse_coverage``). Two
questions are answered:

* :func:`maximal_coverage` — with *p* access points (and optionally a budget), which sites
  serve the most demand? (MCLP, Church & ReVelle 1974.)
* :func:`set_cover` — how few sites serve all (or a target share) of the demand that can be
  served at all? (LSCP, Toregas et al. 1971.)

Every result carries a proven bound on the optimum, so a plan always states how far from
optimal it can be. ``method="exact"`` solves the integer program with HiGHS
(``scipy.optimize.milp``) after reducing the instance (demand points with identical coverage
sets are merged, dominated candidates dropped, sites fixed by the LP's reduced costs at the
threshold the proof needs; see ``_placement_exact``); ``"greedy"`` runs a lazy greedy (Minoux)
and a 1-swap local search, bounded by submodularity (Nemhauser et al. 1978) or the LP
relaxation; ``"auto"`` runs the greedy and then the exact model in the remaining time.

References
----------
.. [1] Church & ReVelle, "The maximal covering location problem", Papers of the Regional
   Science Association 32 (1974).
.. [2] Toregas, Swain, ReVelle & Bergman, "The location of emergency service facilities",
   Operations Research 19(6) (1971).
.. [3] Nemhauser, Wolsey & Fisher, Math. Programming 14 (1978).
.. [4] Khuller, Moss & Naor, "The budgeted maximum coverage problem", Inf. Process. Lett. 70
   (1999).
.. [5] Hogan & ReVelle, "Concepts and applications of backup coverage", Management Science
   32(11) (1986).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from villenum.errors import PlanningError
from villenum.planning import _placement_exact as exact_max
from villenum.planning import _placement_greedy as greedy
from villenum.planning import _placement_lagrange as lagrange
from villenum.planning import _placement_milp as exact
from villenum.planning._placement_exact import rel_gap
from villenum.planning._placement_reduce import (
    Instance,
    as_instance,
    drop_dominated,
    merge_demand,
)

Method = Literal["auto", "exact", "greedy"]
_METHODS = ("auto", "exact", "greedy")
# Relative gap at which HiGHS stops and the result counts as proven optimal.
DEFAULT_MIP_GAP = 1e-6


@dataclass(frozen=True)
class PlacementResult:
    """A chosen set of sites, how much it covers and how far from optimal it can be.

    Attributes
    ----------
    sites
        Sorted indices of the chosen candidate sites (columns of the coverage matrix).
    covered_weight
        Total weight of the demand points served by at least one chosen site.
    covered_fraction
        ``covered_weight`` over the total weight of all demand points (coverable or not).
    upper_bound
        A proven upper bound on the covered weight any feasible choice can reach (for
        :func:`set_cover`: the coverable weight).
    optimal
        Whether the solution is proven optimal (gap within the solver tolerance).
    gap
        Relative optimality gap: ``(upper_bound - covered_weight) / upper_bound`` for
        :func:`maximal_coverage`; ``(n - lower) / n`` on the site count for :func:`set_cover`.
    method
        What produced the returned sites: ``"greedy"``, ``"exact"`` or, for ``"auto"``,
        ``"auto/greedy"`` or ``"auto/exact"``.
    seconds
        Wall-clock time of the call.
    cost
        Total cost of the chosen sites (``None`` when no costs were given).
    sites_lower_bound
        :func:`set_cover` only: a proven lower bound on the number of sites needed.
    """

    sites: npt.NDArray[np.intp]
    covered_weight: float
    covered_fraction: float
    upper_bound: float
    optimal: bool
    gap: float
    method: str
    seconds: float
    cost: float | None = None
    sites_lower_bound: int | None = None


def maximal_coverage(
    coverage: object,
    weights: npt.ArrayLike,
    n_sites: int,
    *,
    method: Method = "auto",
    time_limit_s: float = 60.0,
    fixed: npt.ArrayLike | None = None,
    costs: npt.ArrayLike | None = None,
    budget: float | None = None,
    backup: npt.ArrayLike | None = None,
    mip_rel_gap: float = DEFAULT_MIP_GAP,
) -> PlacementResult:
    """Choose up to ``n_sites`` sites that serve the most demand weight.

    Parameters
    ----------
    coverage
        Demand points × candidate sites, scipy.sparse (or dense); nonzero = covered.
    weights
        Demand weight of each point (e.g. people at the August peak), non-negative.
    n_sites
        Number of access points to place, fixed ones included. Without a budget exactly
        ``n_sites`` are returned (sites adding nothing are then chosen for redundancy); with
        a budget it is a maximum.
    method
        ``"exact"`` (integer program, HiGHS), ``"greedy"`` (lazy greedy + swaps) or
        ``"auto"`` (greedy, then exact within the time limit; the better one is returned).
    time_limit_s
        Wall-clock limit of the whole call (the greedy always completes).
    fixed
        Indices of sites that already exist: always part of the solution.
    costs
        Cost of each candidate site in € (access point plus its backhaul estimate).
    budget
        Maximum total cost in € (needs ``costs``). The exact model adds
        ``Σ cost_j x_j ≤ budget``; the greedy becomes the cost-benefit greedy of Khuller,
        Moss & Naor [4]_, whose better-of-greedy-and-best-single-site answer is guaranteed
        ≥ ½(1 − 1/e) ≈ 0.32 of the optimum, and the LP relaxation bounds its gap.
    backup
        Boolean mask or indices of demand points that must be covered by two chosen sites
        (or by all their candidates when fewer than two reach them) — e.g. beaches, where a
        single AP failure would leave thousands unserved [5]_. A hard constraint.
    mip_rel_gap
        Relative gap at which the exact model is considered solved.

    Returns
    -------
    PlacementResult

    Raises
    ------
    PlanningError
        If the arrays disagree in shape, ``n_sites`` is out of range, the fixed sites exceed
        ``n_sites`` or the budget, or the backup requirement cannot be met.
    """
    t0 = time.perf_counter()
    _check_method(method, time_limit_s)
    inst = as_instance(coverage, weights, costs=costs, fixed=fixed, backup=backup)
    if isinstance(n_sites, bool) or not isinstance(n_sites, int | np.integer):
        raise PlanningError(f"n_sites must be an integer, got {n_sites!r}")
    n_sites = int(n_sites)
    if not 0 <= n_sites <= inst.n_sites:
        raise PlanningError(
            f"n_sites={n_sites} is out of range: there are {inst.n_sites} candidate sites"
        )
    if inst.fixed.size > n_sites:
        raise PlanningError(f"{inst.fixed.size} fixed sites exceed n_sites={n_sites}")
    if budget is not None:
        if costs is None:
            raise PlanningError("a budget needs per-site costs (costs=...)")
        if not math.isfinite(budget) or budget < 0:
            raise PlanningError(f"budget must be a non-negative amount in €, got {budget!r}")
        if inst.costs[inst.fixed].sum() > budget:
            raise PlanningError(
                f"the fixed sites alone cost {inst.costs[inst.fixed].sum():.0f} €, "
                f"more than the budget of {budget:.0f} €"
            )
    deadline = t0 + time_limit_s
    merged = merge_demand(inst)
    best: npt.NDArray[np.bool_] | None = None
    bound = float(merged.weights.sum())
    source = method
    n_free = n_sites - inst.fixed.size
    if method in ("greedy", "auto"):
        best, g_bound = greedy.lazy_greedy(merged, n_free, budget)
        best = greedy.swap_search(merged, best, budget, deadline)
        bound = min(bound, g_bound)
        value = greedy.covered_weight(merged, best)
        if method == "greedy" and budget is None and not inst.backup.any():
            # A short subgradient run: tightens the bound and may meet a better plan.
            # ...capped at half the greedy's own time, so "greedy" stays fast.
            spent = time.perf_counter() - t0
            lag_deadline = min(deadline, time.perf_counter() + max(0.1, 0.5 * spent))
            lag = lagrange.max_coverage_bound(merged, n_free, best, lag_deadline, max_iter=1000)
            bound = min(bound, lag.bound)
            if lag.best_value > value:
                best = lag.best
        elif budget is not None and rel_gap(value, bound) > mip_rel_gap:
            lp = exact.max_coverage(
                merged,
                n_sites,
                budget=budget,
                relax=True,
                mip_rel_gap=mip_rel_gap,
                time_limit_s=deadline - time.perf_counter(),
            )
            bound = min(bound, lp.bound)
        source = "greedy" if method == "greedy" else "auto/greedy"
    if method == "exact" or (
        method == "auto"
        and best is not None
        and rel_gap(greedy.covered_weight(merged, best), bound) > mip_rel_gap
        and time.perf_counter() < deadline
    ):
        best, bound, used = exact_max.solve(
            merged, n_sites, budget, deadline, mip_rel_gap, best, bound
        )
        if used:
            source = "exact" if method == "exact" else "auto/exact"
    assert best is not None
    if inst.backup.any() and not greedy.backup_satisfied(merged, best):
        raise PlanningError(
            f"cannot cover every backup demand point twice with {n_sites} sites"
            + ("" if budget is None else f" within {budget:.0f} €")
        )
    if budget is None:
        best = _pad(inst, best, n_sites)
    return _result(inst, best, bound, source, t0, mip_rel_gap, costs is not None)


def set_cover(
    coverage: object,
    *,
    weights: npt.ArrayLike | None = None,
    coverage_target: float = 1.0,
    method: Method = "auto",
    time_limit_s: float = 60.0,
    mip_rel_gap: float = DEFAULT_MIP_GAP,
) -> PlacementResult:
    """Choose the fewest sites serving ``coverage_target`` of the coverable demand.

    Parameters
    ----------
    coverage
        Demand points × candidate sites, scipy.sparse (or dense); nonzero = covered.
    weights
        Demand weights (default: every point counts 1).
    coverage_target
        Share, in (0, 1], of the *coverable* weight (points at least one candidate serves)
        that must be served. ``1.0`` covers every coverable point.
    method, time_limit_s, mip_rel_gap
        As for :func:`maximal_coverage`.

    Returns
    -------
    PlacementResult
        ``sites_lower_bound`` is a proven lower bound on the number of sites (LP relaxation
        or branch-and-bound), ``gap`` the relative gap on the site count.

    Raises
    ------
    PlanningError
        If the arrays disagree in shape or ``coverage_target`` is not in (0, 1].
    """
    t0 = time.perf_counter()
    _check_method(method, time_limit_s)
    if not (isinstance(coverage_target, int | float) and 0 < coverage_target <= 1):
        raise PlanningError(f"coverage_target must be in (0, 1], got {coverage_target!r}")
    inst = as_instance(coverage, weights)
    merged = merge_demand(inst)
    coverable = float(merged.weights.sum())
    target = coverage_target * coverable
    deadline = t0 + time_limit_s
    lower = 0.0
    best: npt.NDArray[np.bool_] | None = None
    source = method
    if method in ("greedy", "auto"):
        best = greedy.greedy_cover(merged, target)
        if coverage_target >= 1.0:
            lower = lagrange.set_cover_bound(merged, int(best.sum()), deadline)
        else:
            lp = exact.set_cover(
                merged,
                target,
                relax=True,
                mip_rel_gap=mip_rel_gap,
                time_limit_s=deadline - time.perf_counter(),
            )
            lower = max(lower, lp.bound)
        source = "greedy" if method == "greedy" else "auto/greedy"
    if method == "exact" or (
        method == "auto"
        and best is not None
        and best.sum() > math.ceil(lower - 1e-6)
        and time.perf_counter() < deadline
    ):
        reduced = drop_dominated(merged)
        out = exact.set_cover(
            reduced.inst,
            target,
            mip_rel_gap=mip_rel_gap,
            time_limit_s=deadline - time.perf_counter(),
        )
        if np.isfinite(out.bound):
            lower = max(lower, out.bound)
        if out.chosen is not None:
            cand = np.zeros(inst.n_sites, dtype=bool)
            cand[reduced.cols[out.chosen]] = True
            if best is None or cand.sum() < best.sum():
                best = cand
                source = "exact" if method == "exact" else "auto/exact"
        if best is None:
            best = greedy.greedy_cover(merged, target)
    assert best is not None
    n_lower = max(math.ceil(lower - 1e-6), 0) if coverable > 0 else 0
    n = int(best.sum())
    gap = 0.0 if n == 0 else max(n - n_lower, 0) / n
    value = greedy.covered_weight(inst, best)
    total = float(inst.weights.sum())
    return PlacementResult(
        sites=np.flatnonzero(best).astype(np.intp),
        covered_weight=value,
        covered_fraction=value / total if total > 0 else 0.0,
        upper_bound=coverable,
        optimal=gap == 0.0,
        gap=gap,
        method=source,
        seconds=time.perf_counter() - t0,
        sites_lower_bound=n_lower,
    )


def _check_method(method: str, time_limit_s: float) -> None:
    if method not in _METHODS:
        raise PlanningError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    if not time_limit_s > 0:
        raise PlanningError(f"time_limit_s must be positive, got {time_limit_s!r}")


def _pad(inst: Instance, chosen: npt.NDArray[np.bool_], n_sites: int) -> npt.NDArray[np.bool_]:
    """Fill up to ``n_sites`` with the sites adding the most, then the most redundancy."""
    chosen = chosen.copy()
    missing = n_sites - int(chosen.sum())
    if missing <= 0:
        return chosen
    counts = inst.csr @ chosen.astype(np.float64)
    gain = inst.csc.T @ (inst.weights * (counts == 0))
    reach = inst.csc.T @ inst.weights
    score = np.lexsort((-np.arange(inst.n_sites), reach, gain))[::-1]
    extra = [j for j in score if not chosen[j]][:missing]
    chosen[extra] = True
    return chosen


def _result(
    inst: Instance,
    chosen: npt.NDArray[np.bool_],
    bound: float,
    source: str,
    t0: float,
    mip_rel_gap: float,
    with_costs: bool,
) -> PlacementResult:
    value = greedy.covered_weight(inst, chosen)
    bound = max(bound, value)
    gap = rel_gap(value, bound)
    total = float(inst.weights.sum())
    return PlacementResult(
        sites=np.flatnonzero(chosen).astype(np.intp),
        covered_weight=value,
        covered_fraction=value / total if total > 0 else 0.0,
        upper_bound=bound,
        optimal=gap <= mip_rel_gap,
        gap=gap,
        method=source,
        seconds=time.perf_counter() - t0,
        cost=float(inst.costs[chosen].sum()) if with_costs else None,
    )
