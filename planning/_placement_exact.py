"""The exact maximal covering solver: LP bound, LP-guided incumbent, fixing, HiGHS proof.

HiGHS alone spends most of its time on a city-size instance *looking for* a good plan (its
root heuristics), not proving one: on Biarritz it needs ~4 s to reach a 0.1 % gap on its own
and ~0.2 s when handed a near-optimal start, but ``scipy.optimize.milp`` takes no starting
solution. So the incumbent is found here and HiGHS is left only the proof:

1. the LP relaxation (HiGHS dual simplex) gives the bound and, through its duals, the best
   Lagrangian multipliers (the model has the integrality property);
2. the LP-rounded plan and the greedy's are improved by two RINS-style sub-IPs [2]_ — sites
   where the LP and the incumbent agree on opening stay open, sites neither uses stay
   closed, HiGHS chooses among the rest; the second round also frees every site whose
   reduced cost is a small share of the LP gap — each followed by 1-swaps;
3. with incumbent value ``v`` and tolerance ``g``, only plans worth ``T = v / (1 − g)`` or
   more could show that ``v`` is not within the tolerance. Lagrangian reduced-cost fixing
   at that threshold (instead of at ``v``) closes or opens most sites [1]_;
4. HiGHS solves what is left with the cutoff row ``Σ w_i y_i ≥ T`` (when the tolerance
   band is a sizeable part of the LP gap). Infeasible proves the bound ``T``; a solution is
   a better plan, optimised on to the tolerance.

HiGHS's presolve and primal heuristics are off in every sub-IP and in the proof: the plans
come from steps 1–2, and on these covering models the heuristics took most of HiGHS's time
(Biarritz's full proof: ~5 s with them, ~1.5–2 s without, most of it root cuts).

Every step keeps the bound valid for the whole instance, so the returned gap is proven. At
the default tolerance of 1e-6 step 4 is a full optimality proof. At a looser tolerance the
plan is the best one met, proven within it — not necessarily the optimum, though on
Biarritz and the benchmark instances step 2 already finds it.

References
----------
.. [1] Galvão & ReVelle, "A Lagrangean heuristic for the maximal covering location problem",
   European Journal of Operational Research 88 (1996) — Lagrangian bound and fixing.
.. [2] Danna, Rothberg & Le Pape, "Exploring relaxation induced neighborhoods to improve MIP
   solutions", Math. Programming 102 (2005) — RINS.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from villenum.errors import PlanningError
from villenum.planning import _placement_greedy as greedy
from villenum.planning import _placement_lagrange as lagrange
from villenum.planning import _placement_milp as milp
from villenum.planning._placement_reduce import Instance, drop_dominated, merge_demand

# Share of the remaining time the RINS sub-IP may take: it only improves the incumbent.
_RINS_SHARE = 0.25
# Sites whose reduced cost is within this share of the LP gap join the RINS neighbourhood.
_RC_SHARE = 0.25
# Least share of the LP gap (bound − incumbent) the tolerance band must make up for the proof
# to use a cutoff row.
_CUTOFF_SHARE = 0.25


def rel_gap(value: float, bound: float) -> float:
    """``(bound − value) / bound``, 0 for a non-positive bound."""
    return 0.0 if bound <= 0 else max(bound - value, 0.0) / bound


def solve(
    merged: Instance,
    n_sites: int,
    budget: float | None,
    deadline: float,
    mip_rel_gap: float,
    incumbent: npt.NDArray[np.bool_] | None,
    bound: float,
) -> tuple[npt.NDArray[np.bool_], float, bool]:
    """Prove (or improve) a plan for ``n_sites`` sites on a merged instance.

    Returns the best plan, a proven bound on the optimum and whether the exact stage
    produced the plan (rather than the incumbent handed in).

    Raises
    ------
    PlanningError
        If no plan satisfies the backup requirement.
    """
    if incumbent is None:
        incumbent, g_bound = greedy.lazy_greedy(merged, n_sites - merged.fixed.size, budget)
        bound = min(bound, g_bound)
        given = None
    else:
        given = incumbent
    if budget is not None or merged.backup.any():
        # Budget and backup rows break the top-p structure the Lagrangian relies on.
        if given is None:
            incumbent = greedy.swap_search(merged, incumbent, budget, deadline)
        best, bound = _direct(merged, n_sites, budget, deadline, mip_rel_gap, incumbent, bound)
    else:
        best, bound = _proved(merged, n_sites, deadline, mip_rel_gap, incumbent, bound)
    used = given is None or greedy.covered_weight(merged, best) > greedy.covered_weight(
        merged, given
    )
    return best, bound, used


def _direct(
    merged: Instance,
    n_sites: int,
    budget: float | None,
    deadline: float,
    mip_rel_gap: float,
    incumbent: npt.NDArray[np.bool_],
    bound: float,
) -> tuple[npt.NDArray[np.bool_], float]:
    """The reduced IP handed to HiGHS as is."""
    value = greedy.covered_weight(merged, incumbent)
    reduced = drop_dominated(merged)
    out = milp.max_coverage(
        reduced.inst,
        n_sites,
        budget=budget,
        mip_rel_gap=mip_rel_gap,
        time_limit_s=deadline - time.perf_counter(),
    )
    if out.infeasible:
        raise PlanningError(
            f"no choice of {n_sites} sites"
            + ("" if budget is None else f" within {budget:.0f} €")
            + " covers every backup demand point twice"
        )
    bound = min(bound, max(value, out.bound))
    if out.chosen is None:
        return incumbent, bound
    cand = np.zeros(merged.n_sites, dtype=bool)
    cand[reduced.cols[out.chosen]] = True
    if greedy.covered_weight(merged, cand) > value:
        return cand, bound
    return incumbent, bound


def _proved(
    merged: Instance,
    n_sites: int,
    deadline: float,
    mip_rel_gap: float,
    incumbent: npt.NDArray[np.bool_],
    bound: float,
) -> tuple[npt.NDArray[np.bool_], float]:
    """Steps 1–4 of the module docstring (cardinality constraint only)."""
    n_free = n_sites - merged.fixed.size
    lp = milp.max_coverage_lp(merged, n_sites, time_limit_s=deadline - time.perf_counter())
    if lp is None:
        lag = lagrange.max_coverage_bound(merged, n_free, incumbent, deadline, max_iter=1000)
        best, value = lag.best, lag.best_value
    else:
        lag = lagrange.at_multipliers(merged, n_free, lp.duals, incumbent)
        best, value = _improve(merged, n_free, lp, lag, incumbent, deadline)
        lag = lagrange.at_multipliers(merged, n_free, lp.duals, best)
    bound = min(bound, lag.bound)
    if rel_gap(value, bound) <= mip_rel_gap or time.perf_counter() >= deadline:
        return best, bound
    # Proving v within the tolerance only needs to rule out plans worth T or more.
    threshold = value / (1.0 - 0.999 * mip_rel_gap)
    close, open_ = lagrange.fix_sites(merged, n_free, lag, threshold)
    sub, cols, base = restrict(merged, close, open_)
    base_value = greedy.covered_weight(merged, base)
    n_left = n_sites - int(base.sum())
    reduced = drop_dominated(merge_demand(sub))
    if reduced.inst.n_demand == 0 or n_left <= 0:
        # Nothing left to choose: the fixed plan is the only one that could reach T.
        if base_value > value:
            best, value = base, base_value
        return best, min(bound, max(threshold, value))
    # The cutoff row turns the solve into the question "is any plan worth T?", which HiGHS
    # settles fast when T is well above the incumbent. At a tight tolerance (T ≈ v) it is the
    # full optimality question, where the row only hampers HiGHS's own search and presolve.
    cutoff = threshold - value >= _CUTOFF_SHARE * (bound - value)
    out = milp.max_coverage(
        reduced.inst,
        n_left,
        budget=None,
        mip_rel_gap=mip_rel_gap,
        time_limit_s=deadline - time.perf_counter(),
        min_value=threshold - base_value if cutoff else None,
        presolve=False,
        heuristics=False,
    )
    if out.infeasible:
        return best, min(bound, threshold)
    # Plans worth T or more all respect the fixing, so this bound is global.
    if np.isfinite(out.bound):
        bound = min(bound, max(threshold, base_value + out.bound))
    if out.chosen is not None:
        cand = base.copy()
        cand[cols[reduced.cols[out.chosen]]] = True
        if greedy.covered_weight(merged, cand) > value:
            best = cand
    return best, bound


def _improve(
    merged: Instance,
    n_free: int,
    lp: milp.LpOutcome,
    lag: lagrange.LagrangeOutcome,
    incumbent: npt.NDArray[np.bool_],
    deadline: float,
) -> tuple[npt.NDArray[np.bool_], float]:
    """The best plan from the incumbent, the rounded LP and two RINS sub-IPs around them.

    Each sub-IP keeps open the sites both the LP (at 1) and the best plan so far open, and
    chooses among the LP's other sites and the plan's; the second one also among every site
    whose reduced cost is within ``_RC_SHARE`` of the remaining LP gap: an optimum off the
    LP support differs from a good plan by such cheap swaps (on Biarritz, two sites of
    reduced cost 2 and 18 against an LP gap of 74). The sub-IPs are small and solved to
    optimality, HiGHS's own heuristics off.
    """
    fixed = np.zeros(merged.n_sites, dtype=bool)
    fixed[merged.fixed] = True
    # Round the LP: its largest openings, ties broken by the incumbent's choice.
    free = np.flatnonzero(~fixed)
    order = free[np.lexsort((~incumbent[free], -lp.x[free]))]
    rounded = fixed.copy()
    rounded[order[:n_free]] = True
    best, value = max(
        ((q, greedy.covered_weight(merged, q)) for q in (incumbent, rounded)), key=lambda t: t[1]
    )
    rc, _ = lagrange.reduced_costs(merged, n_free, lag.scores)
    for share in (0.0, _RC_SHARE):
        if rel_gap(value, lag.bound) <= 1e-9:
            break
        cheap = rc <= share * (lag.bound - value) if share > 0 else np.zeros_like(fixed)
        ones = (lp.x >= 1.0 - 1e-6) & best & ~cheap
        keep = (lp.x > 1e-6) | best | fixed | cheap
        sub, cols, base = restrict(merged, ~keep, ones)
        n_left = n_free + merged.fixed.size - int(base.sum())
        budget_s = _RINS_SHARE * (deadline - time.perf_counter())
        if not sub.n_demand or n_left <= 0 or budget_s <= 0:
            continue
        out = milp.max_coverage(
            merge_demand(sub),
            n_left,
            budget=None,
            mip_rel_gap=1e-6,
            time_limit_s=budget_s,
            presolve=False,
            heuristics=False,
        )
        if out.chosen is not None:
            rins = base.copy()
            rins[cols[out.chosen]] = True
            rins_value = greedy.covered_weight(merged, rins)
            if rins_value > value:
                best, value = rins, rins_value
        best = greedy.swap_search(merged, best, None, deadline)
        value = greedy.covered_weight(merged, best)
    return best, value


def restrict(
    inst: Instance, close: npt.NDArray[np.bool_], open_: npt.NDArray[np.bool_]
) -> tuple[Instance, npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """The instance left once sites are fixed: open ones and the rows they serve leave.

    Returns the sub-instance, the original index of each of its columns and the mask of
    open sites (``open_`` plus the instance's fixed sites).
    """
    opened = open_.copy()
    opened[inst.fixed] = True
    served = (inst.csr @ opened.astype(np.float64)) > 0
    rows = np.flatnonzero(~served)
    cols = np.flatnonzero(~close & ~opened).astype(np.intp)
    csr = inst.csr[rows][:, cols].tocsr()
    sub = Instance(
        csr,
        csr.tocsc(),
        inst.weights[rows],
        inst.costs[cols],
        np.zeros(0, dtype=np.intp),
        inst.backup[rows],
    )
    return sub, cols, opened
