"""Greedy heuristics for the covering models, with the bounds that make their gap known.

References
----------
.. [1] Nemhauser, Wolsey & Fisher, "An analysis of approximations for maximizing submodular
   set functions — I", Math. Programming 14 (1978): greedy ≥ (1 − 1/e) × optimum, and
   ``f(OPT) ≤ f(S) + Σ_{j∈OPT} Δ_j(S)`` for any set *S*.
.. [2] Minoux, "Accelerated greedy algorithms for maximizing submodular set functions",
   LNCIS 7 (1978): lazy evaluation of marginal gains.
.. [3] Khuller, Moss & Naor, "The budgeted maximum coverage problem", Inf. Process. Lett. 70
   (1999): cost-benefit greedy, best of it and the best single site ≥ ½(1 − 1/e) × optimum.
"""

from __future__ import annotations

import heapq
import time

import numpy as np
import numpy.typing as npt

from villenum.planning._placement_reduce import Instance

_EPS = 1e-9


def covered_weight(inst: Instance, chosen: npt.NDArray[np.bool_]) -> float:
    """Total weight of the demand rows covered by at least one chosen site."""
    counts = inst.csr @ chosen.astype(np.float64)
    return float(inst.weights[counts > 0].sum())


def backup_need(inst: Instance) -> npt.NDArray[np.int64]:
    """Required number of covering sites per row: 2 for backup rows (or all they have)."""
    nnz = np.diff(inst.csr.indptr)
    return np.where(inst.backup, np.minimum(2, nnz), 0)


def backup_satisfied(inst: Instance, chosen: npt.NDArray[np.bool_]) -> bool:
    """Whether every backup row is covered as often as it must be."""
    counts = inst.csr @ chosen.astype(np.float64)
    return bool(np.all(counts >= backup_need(inst)))


def _gains(inst: Instance, counts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return inst.csc.T @ (inst.weights * (counts == 0))


def _gain(inst: Instance, j: int, counts: npt.NDArray[np.float64]) -> float:
    rows = inst.csc.indices[inst.csc.indptr[j] : inst.csc.indptr[j + 1]]
    return float(inst.weights[rows[counts[rows] == 0]].sum())


def _backup_phase(
    inst: Instance, chosen: npt.NDArray[np.bool_], limit: int, budget_left: float
) -> tuple[int, float]:
    """Add sites until every backup row has its required multiplicity (greedy multicover)."""
    need = backup_need(inst).astype(np.float64)
    counts = inst.csr @ chosen.astype(np.float64)
    added = 0
    while np.any(counts < need):
        if added >= limit:
            break
        short = np.where(counts < need, 1.0, 0.0)
        score = inst.csc.T @ short + 1e-6 * _gains(inst, counts) / max(inst.weights.sum(), 1.0)
        score[chosen] = -1.0
        score[inst.costs > budget_left + _EPS] = -1.0
        j = int(np.argmax(score))
        if score[j] < 1.0:
            break
        chosen[j] = True
        counts = inst.csr @ chosen.astype(np.float64)
        budget_left -= inst.costs[j]
        added += 1
    return added, budget_left


def lazy_greedy(
    inst: Instance, n_free: int, budget: float | None = None
) -> tuple[npt.NDArray[np.bool_], float]:
    """Lazy (Minoux) greedy from the fixed sites; returns the chosen mask and a bound.

    Without a budget the score is the marginal covered weight; with one it is the weight per
    euro, and the result is the better of that and the best affordable single site [3]_.
    The bound is the tightest ``f(S) + (sum of the n_free largest gains)`` seen along the
    way [1]_ (``inf`` under a budget, where that bound does not hold).
    """
    m = inst.n_sites
    chosen = np.zeros(m, dtype=bool)
    chosen[inst.fixed] = True
    budget_left = np.inf if budget is None else budget - float(inst.costs[inst.fixed].sum())
    added, budget_left = _backup_phase(inst, chosen, n_free, budget_left)
    n_left = n_free - added
    counts = inst.csr @ chosen.astype(np.float64)
    gains = _gains(inst, counts)
    bound = np.inf
    if budget is None:
        bound = float(inst.weights[counts > 0].sum() + np.sort(gains)[::-1][:n_free].sum())
    cost = np.maximum(inst.costs, _EPS) if budget is not None else np.ones(m)
    heap = [(-gains[j] / cost[j], j) for j in np.flatnonzero((~chosen) & (gains > 0))]
    heapq.heapify(heap)
    value = float(inst.weights[counts > 0].sum())
    while heap and n_left > 0:
        _, j = heapq.heappop(heap)
        if inst.costs[j] > budget_left + _EPS:
            continue
        g = _gain(inst, j, counts)
        if g <= 0:
            continue
        score = g / cost[j]
        if heap and score < -heap[0][0] - _EPS:
            heapq.heappush(heap, (-score, j))
            continue
        chosen[j] = True
        rows = inst.csc.indices[inst.csc.indptr[j] : inst.csc.indptr[j + 1]]
        counts[rows] += 1
        value += g
        budget_left -= inst.costs[j]
        n_left -= 1
        if budget is None and n_left % 8 == 0:
            # Re-evaluating every gain costs one sparse product; often enough to tighten.
            top = np.sort(_gains(inst, counts))[::-1][:n_free].sum()
            bound = min(bound, value + float(top))
    if budget is None:
        top = np.sort(_gains(inst, counts))[::-1][:n_free].sum()
        bound = min(bound, value + float(top))
    else:
        chosen = _best_with_single(inst, chosen, value, budget)
    return chosen, bound


def _best_with_single(
    inst: Instance, chosen: npt.NDArray[np.bool_], value: float, budget: float
) -> npt.NDArray[np.bool_]:
    base = np.zeros(inst.n_sites, dtype=bool)
    base[inst.fixed] = True
    counts = inst.csr @ base.astype(np.float64)
    gains = _gains(inst, counts)
    affordable = (~base) & (inst.costs + inst.costs[base].sum() <= budget + _EPS)
    if not affordable.any():
        return chosen
    j = int(np.argmax(np.where(affordable, gains, -1.0)))
    single = base.copy()
    single[j] = True
    if covered_weight(inst, single) > value + _EPS and backup_satisfied(inst, single):
        return single
    return chosen


def swap_search(
    inst: Instance,
    chosen: npt.NDArray[np.bool_],
    budget: float | None,
    deadline: float,
) -> npt.NDArray[np.bool_]:
    """Best-improvement 1-swap local search (never moves a fixed site).

    Every swap keeps the budget and the backup multiplicities; one round scores all
    ``(out, in)`` pairs with one sparse product per chosen site.
    """
    chosen = chosen.copy()
    fixed = np.zeros(inst.n_sites, dtype=bool)
    fixed[inst.fixed] = True
    need = backup_need(inst)
    has_backup = bool(inst.backup.any())
    w = inst.weights
    tol = _EPS * max(float(w.sum()), 1.0)
    spent = float(inst.costs[chosen].sum())
    while time.perf_counter() < deadline:
        counts = inst.csr @ chosen.astype(np.float64)
        gain0 = _gains(inst, counts)
        best = (tol, -1, -1)
        for s in np.flatnonzero(chosen & ~fixed):
            rows = inst.csc.indices[inst.csc.indptr[s] : inst.csc.indptr[s + 1]]
            crit = rows[counts[rows] == 1]
            delta = gain0 - w[crit].sum()
            if crit.size:
                delta = delta + inst.csr[crit].T @ w[crit]
            delta[chosen] = -np.inf
            if budget is not None:
                delta[spent - inst.costs[s] + inst.costs > budget + _EPS] = -np.inf
            if has_backup:
                tight = rows[inst.backup[rows] & (counts[rows] <= need[rows])]
                if tight.size:
                    ok = np.asarray(inst.csr[tight].sum(axis=0)).ravel() == tight.size
                    delta[~ok] = -np.inf
            c = int(np.argmax(delta))
            if delta[c] > best[0]:
                best = (float(delta[c]), int(s), c)
        if best[1] < 0:
            break
        _, s, c = best
        chosen[s] = False
        chosen[c] = True
        spent += inst.costs[c] - inst.costs[s]
    return chosen


def greedy_cover(inst: Instance, target_weight: float) -> npt.NDArray[np.bool_]:
    """Lazy greedy set cover until ``target_weight`` is covered, then drop redundant sites."""
    chosen = np.zeros(inst.n_sites, dtype=bool)
    counts = np.zeros(inst.n_demand)
    gains = _gains(inst, counts)
    heap = [(-gains[j], j) for j in np.flatnonzero(gains > 0)]
    heapq.heapify(heap)
    value = 0.0
    order: list[int] = []
    tol = _EPS * max(float(inst.weights.sum()), 1.0)
    while heap and value < target_weight - tol:
        _, j = heapq.heappop(heap)
        g = _gain(inst, j, counts)
        if g <= 0:
            continue
        if heap and g < -heap[0][0] - _EPS:
            heapq.heappush(heap, (-g, j))
            continue
        chosen[j] = True
        order.append(j)
        rows = inst.csc.indices[inst.csc.indptr[j] : inst.csc.indptr[j + 1]]
        counts[rows] += 1
        value += g
    # Early picks are often made redundant by later ones; try removing them first.
    for j in order:
        rows = inst.csc.indices[inst.csc.indptr[j] : inst.csc.indptr[j + 1]]
        loss = float(inst.weights[rows[counts[rows] == 1]].sum())
        if value - loss >= target_weight - tol:
            chosen[j] = False
            counts[rows] -= 1
            value -= loss
    return chosen
