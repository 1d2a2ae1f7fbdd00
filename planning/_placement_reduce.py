"""Instance reduction for the covering models: merged demand, dominated candidates.

Both reductions keep every optimal value unchanged, so an optimum of the reduced instance
maps back to an optimum of the original one. They are what lets HiGHS prove optimality on a
city-size instance in seconds: beach and street demand points seen by the same few sites
collapse into one weighted row, and a lamp-post candidate whose coverage is a subset of its
neighbour's disappears.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from villenum.errors import PlanningError


@dataclass
class Instance:
    """A validated covering instance (binary, CSR and CSC views)."""

    csr: sp.csr_array
    csc: sp.csc_array
    weights: npt.NDArray[np.float64]
    costs: npt.NDArray[np.float64]
    fixed: npt.NDArray[np.intp]
    backup: npt.NDArray[np.bool_]

    @property
    def n_demand(self) -> int:
        return int(self.csr.shape[0])

    @property
    def n_sites(self) -> int:
        return int(self.csr.shape[1])


@dataclass
class Reduced:
    """A reduced instance: merged demand groups × kept candidate columns."""

    inst: Instance
    cols: npt.NDArray[np.intp]
    """Original candidate index of each kept column."""


def as_instance(
    coverage: object,
    weights: object | None,
    *,
    costs: object | None = None,
    fixed: object | None = None,
    backup: object | None = None,
) -> Instance:
    """Validate the user's arrays and return a binary instance.

    Raises
    ------
    PlanningError
        If shapes disagree, weights or costs are negative or not finite, or indices are
        out of range.
    """
    if sp.issparse(coverage):
        mat = sp.csr_array(coverage)
    else:
        arr = np.asarray(coverage)
        if arr.ndim != 2:
            raise PlanningError(
                f"coverage must be a 2-D demand × site matrix, got shape {arr.shape}"
            )
        mat = sp.csr_array(arr)
    if mat.ndim != 2:
        raise PlanningError(f"coverage must be a 2-D demand × site matrix, got shape {mat.shape}")
    mat = mat.copy()
    mat.eliminate_zeros()
    mat.sum_duplicates()
    mat.data = np.ones_like(mat.data, dtype=np.float64)
    mat.sort_indices()
    n, m = mat.shape
    if m == 0:
        raise PlanningError("coverage has no candidate sites (0 columns)")
    if weights is None:
        w = np.ones(n)
    else:
        w = np.asarray(weights, dtype=np.float64).ravel()
        if w.shape != (n,):
            raise PlanningError(f"weights has {w.size} values but coverage has {n} demand rows")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise PlanningError("weights must be finite and non-negative")
    if costs is None:
        c = np.ones(m)
    else:
        c = np.asarray(costs, dtype=np.float64).ravel()
        if c.shape != (m,):
            raise PlanningError(f"costs has {c.size} values but coverage has {m} site columns")
        if not np.all(np.isfinite(c)) or np.any(c < 0):
            raise PlanningError("site costs must be finite and non-negative")
    fx = _indices(fixed, m, "fixed")
    if backup is None:
        bk = np.zeros(n, dtype=bool)
    else:
        b = np.asarray(backup)
        if b.dtype == bool:
            if b.shape != (n,):
                raise PlanningError(f"backup mask has {b.size} values but coverage has {n} rows")
            bk = b.copy()
        else:
            bk = np.zeros(n, dtype=bool)
            bk[_indices(b, n, "backup")] = True
    return Instance(mat, mat.tocsc(), w, c, fx, bk)


def _indices(values: object | None, size: int, name: str) -> npt.NDArray[np.intp]:
    if values is None:
        return np.zeros(0, dtype=np.intp)
    idx = np.unique(np.asarray(values, dtype=np.int64).ravel())
    if idx.size and (idx[0] < 0 or idx[-1] >= size):
        bad = idx[0] if idx[0] < 0 else idx[-1]
        raise PlanningError(f"{name} index {bad} is out of range (valid: 0..{size - 1})")
    return idx.astype(np.intp)


def merge_demand(inst: Instance, *, keep_zero_weight: bool = False) -> Instance:
    """Merge demand rows with identical coverage sets (summing weights).

    Rows no candidate covers, and zero-weight rows without a backup requirement, are dropped:
    no choice of sites changes their contribution.
    """
    a = inst.csr
    nnz = np.diff(a.indptr)
    keep = nnz > 0
    if not keep_zero_weight:
        keep &= (inst.weights > 0) | inst.backup
    a = a[np.flatnonzero(keep)]
    w = inst.weights[keep]
    bk = inst.backup[keep]
    if a.shape[0] == 0:
        return Instance(a, a.tocsc(), w, inst.costs, inst.fixed, bk)
    # Two random linear hashes of each (sorted) row identify its column set; identical sets
    # give bit-identical sums, and distinct sets colliding on both has probability ~0.
    rng = np.random.default_rng(12345)
    r = rng.random((a.shape[1], 2)) + 1.0
    h = a @ r
    key = np.column_stack([h, np.diff(a.indptr), bk])
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    merged_w = np.bincount(inverse, weights=w, minlength=first.size)
    merged = a[first]
    merged.sort_indices()
    return Instance(merged, merged.tocsc(), merged_w, inst.costs, inst.fixed, bk[first])


def drop_dominated(inst: Instance) -> Reduced:
    """Drop candidates whose coverage is a subset of a no-dearer candidate's.

    Site *k* dominates *j* when ``N(j) ⊆ N(k)`` and ``cost_k ≤ cost_j`` (ties broken by index
    so that the relation is a strict order). Any solution using *j* is matched by one using
    its dominator (or, if the dominator is already chosen, by dropping *j*), so the optimum
    of a coverage objective under cardinality and budget limits is unchanged. Not valid for
    backup (multiple) coverage, which counts *j* and *k* separately; fixed sites always stay.
    """
    a = inst.csc
    m = a.shape[1]
    size = np.diff(a.indptr)
    if inst.backup.any():
        cols = np.arange(m, dtype=np.intp)
        return Reduced(inst, cols)
    overlap = (a.T @ a).tocoo()
    j, k, v = overlap.row, overlap.col, overlap.data
    cj, ck = inst.costs[j], inst.costs[k]
    sub = (j != k) & (np.rint(v).astype(np.int64) == size[j])
    strict = (size[k] > size[j]) | (ck < cj) | (k < j)
    dominated = np.zeros(m, dtype=bool)
    dominated[j[sub & (ck <= cj) & strict]] = True
    dominated[size == 0] = True
    dominated[inst.fixed] = False
    cols = np.flatnonzero(~dominated).astype(np.intp)
    sub_inst = Instance(
        inst.csr[:, cols].tocsr(),
        a[:, cols].tocsc(),
        inst.weights,
        inst.costs[cols],
        np.searchsorted(cols, inst.fixed).astype(np.intp),
        inst.backup,
    )
    return Reduced(sub_inst, cols)
