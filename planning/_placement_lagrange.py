"""Lagrangian bounds and variable fixing for the covering models.

Relaxing the linking rows ``y_i ≤ Σ_j a_ij x_j`` of the maximal covering model with
multipliers ``0 ≤ λ_i ≤ w_i`` gives the bound

    L(λ) = Σ_i (w_i − λ_i) + Σ_{j fixed} s_j + (sum of the p largest s_j),  s = Aᵀλ,

valid for every such λ and equal to the LP bound at the best λ (the model has the integrality
property). Each subgradient step costs two sparse products, so a bound as tight as the LP's
comes in a fraction of the time HiGHS needs for the LP itself on city-size instances; the
top-p sets met on the way are feasible plans and often good ones. With a bound ``L`` and an
incumbent of value ``LB``, a site whose forced opening (or closing) drops the bound below
``LB`` can be fixed, which shrinks the integer program handed to HiGHS.

For set covering, relaxing ``Σ_j a_ij x_j ≥ 1`` with ``λ ≥ 0`` gives the lower bound
``Σ_i λ_i + Σ_j min(0, 1 − s_j)``.

References
----------
.. [1] Galvão & ReVelle, "A Lagrangean heuristic for the maximal covering location problem",
   European Journal of Operational Research 88 (1996).
.. [2] Beasley, "A Lagrangian heuristic for set-covering problems", Naval Research Logistics
   37 (1990).
.. [3] Held, Wolfe & Crowder, "Validation of subgradient optimization", Math. Programming 6
   (1974) — step-size rule.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from villenum.planning._placement_reduce import Instance


@dataclass
class LagrangeOutcome:
    """Best bound, its multipliers and scores, and the best top-p plan met."""

    bound: float
    scores: npt.NDArray[np.float64]
    best: npt.NDArray[np.bool_]
    best_value: float


def _top(
    scores: npt.NDArray[np.float64], free: npt.NDArray[np.bool_], p: int
) -> npt.NDArray[np.intp]:
    cand = np.flatnonzero(free)
    if p >= cand.size:
        return cand
    if p <= 0:
        return np.zeros(0, dtype=np.intp)
    return cand[np.argpartition(-scores[cand], p - 1)[:p]]


def _fixed_mask(inst: Instance) -> npt.NDArray[np.bool_]:
    fixed = np.zeros(inst.n_sites, dtype=bool)
    fixed[inst.fixed] = True
    return fixed


def at_multipliers(
    inst: Instance,
    n_free: int,
    lam: npt.NDArray[np.float64],
    incumbent: npt.NDArray[np.bool_],
) -> LagrangeOutcome:
    """The Lagrangian bound at given multipliers (e.g. the LP duals), clipped to ``[0, w]``.

    Any such multipliers give a valid bound (weak duality), whatever their accuracy.
    """
    w = inst.weights
    lam = np.clip(lam, 0.0, w)
    fixed = _fixed_mask(inst)
    s = inst.csc.T @ lam
    top = _top(s, ~fixed, n_free)
    bound = float((w - lam).sum() + s[fixed].sum() + s[top].sum())
    value = float(w[(inst.csr @ incumbent.astype(np.float64)) > 0].sum())
    return LagrangeOutcome(bound, s, incumbent.copy(), value)


def max_coverage_bound(
    inst: Instance,
    n_free: int,
    incumbent: npt.NDArray[np.bool_],
    deadline: float,
    max_iter: int = 300,
) -> LagrangeOutcome:
    """Subgradient optimisation of the maximal covering Lagrangian bound."""
    w = inst.weights
    fixed = _fixed_mask(inst)
    free = ~fixed
    best = incumbent.copy()
    best_value = float(w[(inst.csr @ best.astype(np.float64)) > 0].sum())
    lam = 0.5 * w
    theta, stall, bound = 2.0, 0, np.inf
    best_scores = inst.csc.T @ lam
    for _ in range(max_iter):
        s = inst.csc.T @ lam
        top = _top(s, free, n_free)
        value = float((w - lam).sum() + s[fixed].sum() + s[top].sum())
        x = fixed.copy()
        x[top] = True
        counts = inst.csr @ x.astype(np.float64)
        plan_value = float(w[counts > 0].sum())
        if plan_value > best_value:
            best, best_value = x, plan_value
        if value < bound:
            bound, best_scores, stall = value, s, 0
        else:
            stall += 1
            if stall >= 15:
                theta, stall = theta / 2, 0
        g = counts - 1.0
        # Only rows whose multiplier can still move in the subgradient's direction count.
        g[((lam <= 0) & (g > 0)) | ((lam >= w) & (g < 0))] = 0.0
        # Not g @ g: a BLAS dot on a busy 2-core machine costs milliseconds (thread wake-ups).
        norm = float((g * g).sum())
        if norm == 0 or bound - best_value <= 1e-9 * max(bound, 1.0) or theta < 1e-3:
            break
        if time.perf_counter() > deadline:
            break
        step = theta * max(value - best_value, 1e-9 * max(value, 1.0)) / norm
        lam = np.clip(lam - step * g, 0.0, w)
    return LagrangeOutcome(bound, best_scores, best, best_value)


def reduced_costs(
    inst: Instance, n_free: int, scores: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """How much the bound falls if each site leaves (or joins) the top-p set, and that set.

    Forcing site *j* into the top-p set changes the bound by ``s_j − s_p`` (``s_p`` the
    weakest member); forcing a member out changes it by ``s_{p+1} − s_j``. Fixed sites, and
    every site when nothing is left to choose, have reduced cost 0.
    """
    fixed = _fixed_mask(inst)
    free = np.flatnonzero(~fixed)
    rc = np.zeros(inst.n_sites)
    top = np.zeros(inst.n_sites, dtype=bool)
    if n_free <= 0 or n_free >= free.size:
        return rc, top
    order = free[np.argsort(-scores[free], kind="stable")]
    inside, outside = order[:n_free], order[n_free:]
    rc[outside] = scores[inside[-1]] - scores[outside]
    rc[inside] = scores[inside] - scores[outside[0]]
    top[inside] = True
    return rc, top


def fix_sites(
    inst: Instance, n_free: int, outcome: LagrangeOutcome, threshold: float | None = None
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Sites that must be closed / open in every plan worth at least ``threshold``.

    If flipping a site (its reduced cost, see `reduced_costs`) drops the bound below the
    threshold (default: the incumbent's value), no plan reaching it takes that branch. A
    threshold above the incumbent — the value that would prove it within the gap
    tolerance — fixes far more sites.
    """
    target = outcome.best_value if threshold is None else threshold
    rc, top = reduced_costs(inst, n_free, outcome.scores)
    if not top.any():
        return np.zeros(inst.n_sites, dtype=bool), np.zeros(inst.n_sites, dtype=bool)
    slack = outcome.bound - target - 1e-7 * max(outcome.bound, 1.0)
    free = ~_fixed_mask(inst)
    return free & ~top & (rc > slack), top & (rc > slack)


def set_cover_bound(inst: Instance, upper: int, deadline: float, max_iter: int = 300) -> float:
    """Subgradient optimisation of the set covering Lagrangian lower bound (Beasley [2])."""
    n = inst.n_demand
    lam = np.full(n, 1.0 / np.maximum(np.diff(inst.csr.indptr), 1))
    theta, stall, bound = 2.0, 0, 0.0
    for _ in range(max_iter):
        reduced = 1.0 - inst.csc.T @ lam
        x = reduced < 0
        value = float(lam.sum() + reduced[x].sum())
        if value > bound + 1e-9:
            bound, stall = value, 0
        else:
            stall += 1
            if stall >= 15:
                theta, stall = theta / 2, 0
        g = 1.0 - inst.csr @ x.astype(np.float64)
        g[(lam <= 0) & (g < 0)] = 0.0
        # Not g @ g: a BLAS dot on a busy 2-core machine costs milliseconds (thread wake-ups).
        norm = float((g * g).sum())
        if norm == 0 or np.ceil(bound - 1e-6) >= upper or theta < 1e-4:
            break
        if time.perf_counter() > deadline:
            break
        lam = np.maximum(lam + theta * max(upper - value, 1e-3) / norm * g, 0.0)
    return bound
