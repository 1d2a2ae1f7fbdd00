"""Integer programs of the covering models, solved by HiGHS through ``scipy.optimize.milp``.

The constraint matrices are assembled sparse (never a dense demand × site array).

References
----------
.. [1] Church & ReVelle, "The maximal covering location problem", Papers of the Regional
   Science Association 32 (1974) — the MCLP formulation used here.
.. [2] Hogan & ReVelle, "Concepts and applications of backup coverage", Management Science
   32(11) (1986) — multiple coverage of selected demand.
.. [3] Huangfu & Hall, "Parallelizing the dual revised simplex method", Math. Prog. Comp. 10
   (2018) — HiGHS.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from villenum.planning._placement_greedy import backup_need
from villenum.planning._placement_reduce import Instance

# HiGHS's primal heuristics, switched off where the caller supplies the plans: on covering
# sub-IPs they take most of the solve time (Biarritz: a 331 × 130 RINS sub-IP in 1.5 s with
# them, 0.2 s without) and find nothing the LP-guided search has not found already.
_NO_HEURISTICS = {
    "mip_heuristic_effort": 0.0,
    "mip_heuristic_run_feasibility_jump": False,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
}


@dataclass
class MilpOutcome:
    """What HiGHS returned: the best solution (if any) and a proven bound."""

    chosen: npt.NDArray[np.bool_] | None
    value: float
    bound: float
    optimal: bool
    infeasible: bool


@dataclass
class LpOutcome:
    """The LP relaxation of the maximal covering model: its value and its solution."""

    bound: float
    x: npt.NDArray[np.float64]
    """Fractional site openings."""
    duals: npt.NDArray[np.float64]
    """Multipliers ``λ_i ≥ 0`` of the linking rows ``y_i ≤ Σ_j a_ij x_j``."""


def _solve(
    c: npt.NDArray[np.float64],
    constraints: list[LinearConstraint],
    bounds: Bounds,
    integrality: npt.NDArray[np.int64],
    time_limit_s: float,
    mip_rel_gap: float,
    presolve: bool = True,
    heuristics: bool = True,
) -> object:
    options: dict[str, object] = {
        "time_limit": max(time_limit_s, 0.01),
        "mip_rel_gap": mip_rel_gap,
        "disp": False,
        "presolve": presolve,
    }
    with warnings.catch_warnings():
        if not heuristics:
            options.update(_NO_HEURISTICS)
            # scipy passes options it does not know to HiGHS verbatim, with a warning.
            warnings.filterwarnings("ignore", "Unrecognized options", RuntimeWarning)
        return milp(
            c, constraints=constraints, bounds=bounds, integrality=integrality, options=options
        )


def _linking(a: sp.csr_array) -> sp.csr_array:
    """Rows ``y_i − Σ_j a_ij x_j ≤ 0`` over the variables ``[x, y]``."""
    return sp.hstack([-a, sp.eye_array(a.shape[0])], format="csr")


def max_coverage_lp(inst: Instance, n_sites: int, *, time_limit_s: float) -> LpOutcome | None:
    """Solve the LP relaxation of the maximal covering model with its duals (HiGHS simplex).

    Returns ``None`` if HiGHS does not reach the LP optimum in time. The duals of the linking
    rows are the best Lagrangian multipliers: the model has the integrality property, so the
    Lagrangian bound at these multipliers equals the LP bound.
    """
    a = inst.csr
    g, m = a.shape
    cost = np.concatenate([np.zeros(m), -inst.weights])
    rows = sp.vstack([_linking(a), sp.hstack([np.ones((1, m)), sp.csr_array((1, g))])])
    lower = np.zeros(m + g)
    lower[inst.fixed] = 1.0
    res = linprog(
        cost,
        A_ub=rows.tocsr(),
        b_ub=np.concatenate([np.zeros(g), [n_sites]]),
        bounds=np.column_stack([lower, np.ones(m + g)]),
        method="highs-ds",
        options={"time_limit": max(time_limit_s, 0.01)},
    )
    if res.status != 0:
        return None
    duals = -np.asarray(res.ineqlin.marginals[:g])
    return LpOutcome(-float(res.fun), np.asarray(res.x[:m]), duals)


def max_coverage(
    inst: Instance,
    n_sites: int,
    *,
    budget: float | None,
    time_limit_s: float,
    mip_rel_gap: float,
    relax: bool = False,
    min_value: float | None = None,
    presolve: bool | None = None,
    heuristics: bool = True,
) -> MilpOutcome:
    """Solve the maximal covering IP (or its LP relaxation when ``relax``).

    Variables are ``x_j ∈ {0,1}`` (site open) and ``y_i ∈ [0,1]`` (row covered); the model
    maximises ``Σ w_i y_i`` subject to ``y_i ≤ Σ_j a_ij x_j``, ``Σ x_j ≤ n_sites``, optionally
    ``Σ c_j x_j ≤ budget`` and ``Σ_j a_ij x_j ≥ 2`` for backup rows.

    With ``min_value`` the row ``Σ w_i y_i ≥ min_value`` is added: a cutoff that prunes every
    node whose LP cannot reach it, standing in for the incumbent ``scipy.optimize.milp`` cannot
    be given. ``infeasible`` then proves that no plan reaches ``min_value``. HiGHS's presolve
    is skipped on such calls unless ``presolve`` says otherwise: the instance is already
    reduced, and its probing costs more than it saves there. ``heuristics=False`` switches
    HiGHS's primal heuristics off, for callers that bring their own plans and want the proof.
    """
    a = inst.csr
    g, m = a.shape
    cost = np.concatenate([np.zeros(m), -inst.weights])
    rows = [
        LinearConstraint(_linking(a), -np.inf, 0.0),
        LinearConstraint(sp.hstack([np.ones((1, m)), sp.csr_array((1, g))]), -np.inf, n_sites),
    ]
    if min_value is not None:
        objective = sp.hstack([sp.csr_array((1, m)), inst.weights[None, :]])
        rows.append(LinearConstraint(objective, min_value, np.inf))
    if budget is not None:
        spend = sp.hstack([inst.costs[None, :], sp.csr_array((1, g))])
        rows.append(LinearConstraint(spend, -np.inf, budget))
    if inst.backup.any():
        need = backup_need(inst)
        b = np.flatnonzero(need > 0)
        multi = sp.hstack([a[b], sp.csr_array((b.size, g))], format="csr")
        rows.append(LinearConstraint(multi, need[b], np.inf))
    lower = np.zeros(m + g)
    lower[inst.fixed] = 1.0
    integrality = np.zeros(m + g, dtype=np.int64)
    if not relax:
        integrality[:m] = 1
    bounds = Bounds(lower, np.ones(m + g))
    if presolve is None:
        presolve = min_value is None
    res = _solve(cost, rows, bounds, integrality, time_limit_s, mip_rel_gap, presolve, heuristics)
    return _outcome(res, m, relax, sense=-1.0)


def set_cover(
    inst: Instance,
    target_weight: float,
    *,
    time_limit_s: float,
    mip_rel_gap: float,
    relax: bool = False,
) -> MilpOutcome:
    """Solve the (partial) set covering IP: fewest sites covering ``target_weight``.

    With the full target every row is a hard ``Σ_j a_ij x_j ≥ 1`` (Toregas et al. 1971);
    otherwise coverage variables ``y_i`` carry the weight as in the maximal covering model.
    """
    a = inst.csr
    g, m = a.shape
    full = target_weight >= inst.weights.sum() * (1 - 1e-12)
    if full:
        cost = np.ones(m)
        rows = [LinearConstraint(a, 1.0, np.inf)]
        n_var = m
    else:
        cost = np.concatenate([np.ones(m), np.zeros(g)])
        rows = [
            LinearConstraint(_linking(a), -np.inf, 0.0),
            LinearConstraint(
                sp.hstack([sp.csr_array((1, m)), inst.weights[None, :]]), target_weight, np.inf
            ),
        ]
        n_var = m + g
    integrality = np.zeros(n_var, dtype=np.int64)
    if not relax:
        integrality[:m] = 1
    bounds = Bounds(np.zeros(n_var), np.ones(n_var))
    res = _solve(cost, rows, bounds, integrality, time_limit_s, mip_rel_gap)
    return _outcome(res, m, relax, sense=1.0)


def _outcome(res: object, m: int, relax: bool, sense: float) -> MilpOutcome:
    status = int(res.status)  # type: ignore[attr-defined]
    if status == 2:
        return MilpOutcome(None, np.nan, np.nan, False, True)
    x = res.x  # type: ignore[attr-defined]
    bound = np.inf * -sense
    if relax:
        if status == 0:
            bound = sense * float(res.fun)  # type: ignore[attr-defined]
        return MilpOutcome(None, np.nan, bound, False, False)
    dual = getattr(res, "mip_dual_bound", None)
    if dual is not None and np.isfinite(dual):
        bound = sense * float(dual)
    if x is None:
        return MilpOutcome(None, np.nan, bound, False, False)
    chosen = np.asarray(x[:m]) > 0.5
    value = sense * float(res.fun)  # type: ignore[attr-defined]
    if status == 0 and dual is None:
        bound = value
    return MilpOutcome(chosen, value, bound, status == 0, False)
