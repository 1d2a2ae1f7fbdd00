"""Fibre backhaul: a Steiner tree on the street graph from the point of presence to the APs.

Trenches follow streets, so the cheapest network joining the fibre point of presence (PoP)
to every access point is a Steiner tree of the street graph, weighted by the civil-works
cost of each street (€/m by street class, cheaper where a duct already exists). The tree
starts from networkx's 2-approximation (Mehlhorn's method, stated explicitly) and is then
improved by key-path exchange and an MST re-prune; the report keeps the plain networkx cost
so the improvement is visible.

Cost defaults (€/m, excl. VAT) sit inside the ranges quoted in issue 4 and in French public
sources; they are *planning* figures to be replaced by local quotes:

* open trench 50–90 €/m on average, up to ~250 €/m under the stone paving of a town centre
  (Cerema / Avicca figures for micro-trenching to traditional trenching in France; the FTTH
  Council Europe's *FTTH Handbook* (8th ed., 2018) puts civil works at 50–80 % of an FTTH
  deployment);
* aerial cable on existing poles 15–30 €/m;
* pulling cable into an existing duct (e.g. Orange's regulated duct access offer) is the
  cheapest, a few €/m plus the duct rent.

References
----------
.. [1] Mehlhorn, "A faster approximation algorithm for the Steiner problem in graphs",
   Inf. Process. Lett. 27 (1988).
.. [2] Uchoa & Werneck, "Fast local search for Steiner trees in graphs", ALENEX (2010) —
   key-path exchange.
.. [3] ITU-T G.984.2 (2003) and Amd. 1 (2006): GPON physical layer, class B+ 28 dB and C+
   32 dB optical budgets, 20 km reach.
.. [4] ITU-T G.671 (2019): splitter insertion loss (1:32 ≤ 17.5 dB, 1:64 ≤ 21 dB uniform).
.. [5] ITU-T G.652 (2016): single-mode fibre attenuation ≤ 0.4 dB/km at 1310 nm.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
import shapely.ops
from shapely.geometry import LineString, Point

from villenum.errors import PlanningError

STEINER_METHOD = "mehlhorn"

# Default trench cost by street class (€/m): see the module docstring for the ranges.
TRENCH_EUR_PER_M = {"major": 120.0, "medium": 90.0, "minor": 60.0, "pedestrian": 250.0}


@dataclass(frozen=True)
class FibreCosts:
    """Unit costs of the backhaul (€, excl. VAT); planning defaults, replace with quotes.

    Attributes
    ----------
    trench_eur_per_m
        Civil works by street class (``kind`` of the street graph).
    default_trench_eur_per_m
        For a street class missing from ``trench_eur_per_m``.
    aerial_eur_per_m
        Cable on existing poles, used for streets listed in ``aerial_kinds``.
    aerial_kinds
        Street classes where poles exist (none by default: Biarritz's centre is underground).
    duct_eur_per_m
        Cable pulled into an existing duct (the ``ducts`` layer).
    cable_eur_per_m
        Fibre cable and its installation, added to every metre.
    drop_eur_per_m
        Short trench from the street to the AP's pole or roof.
    ap_eur
        Outdoor Wi-Fi 6 access point with mounting, power and ONT.
    splitter_eur
        One optical splitter with its closure.
    olt_port_eur
        One GPON OLT port at the point of presence.
    """

    trench_eur_per_m: dict[str, float] = field(default_factory=lambda: dict(TRENCH_EUR_PER_M))
    default_trench_eur_per_m: float = 90.0
    aerial_eur_per_m: float = 25.0
    aerial_kinds: tuple[str, ...] = ()
    duct_eur_per_m: float = 8.0
    cable_eur_per_m: float = 3.0
    drop_eur_per_m: float = 90.0
    ap_eur: float = 2500.0
    splitter_eur: float = 600.0
    olt_port_eur: float = 1500.0

    def __post_init__(self) -> None:
        for name in (
            "default_trench_eur_per_m",
            "aerial_eur_per_m",
            "duct_eur_per_m",
            "cable_eur_per_m",
            "drop_eur_per_m",
            "ap_eur",
            "splitter_eur",
            "olt_port_eur",
        ):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise PlanningError(
                    f"fibre cost {name} must be a non-negative number, got {value!r}"
                )
        for kind, value in self.trench_eur_per_m.items():
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise PlanningError(
                    f"fibre cost trench_eur_per_m[{kind!r}] must be a non-negative number, "
                    f"got {value!r}"
                )

    def street_eur_per_m(self, kind: str, in_duct: bool) -> tuple[float, str]:
        """Cost per metre of a street and how the cable goes in (trench, aerial, duct)."""
        if in_duct:
            return self.duct_eur_per_m + self.cable_eur_per_m, "duct"
        if kind in self.aerial_kinds:
            return self.aerial_eur_per_m + self.cable_eur_per_m, "aerial"
        trench = self.trench_eur_per_m.get(kind, self.default_trench_eur_per_m)
        return trench + self.cable_eur_per_m, "trench"


@dataclass(frozen=True)
class OpticalBudget:
    """GPON optical budget check of the longest PoP → AP path (ITU-T G.984.2).

    Attributes
    ----------
    split_ratio
        Splitter ratio (32 or 64).
    longest_path_m
        Longest fibre run from the PoP to an AP (along the tree, plus the drop).
    loss_db
        Worst-case loss: splitter + fibre + connectors + splices.
    budget_db
        Optical budget of the optics class (B+ 28 dB, C+ 32 dB).
    margin_db
        ``budget_db − loss_db − safety_margin_db``; ≥ 0 passes.
    reach_ok
        Longest path within the 20 km GPON reach.
    ok
        Both the loss and the reach pass.
    pon_ports
        OLT ports needed (one per ``split_ratio`` APs).
    """

    split_ratio: int
    longest_path_m: float
    loss_db: float
    budget_db: float
    margin_db: float
    reach_ok: bool
    ok: bool
    pon_ports: int


@dataclass
class Backhaul:
    """A fibre backhaul plan.

    Attributes
    ----------
    trenches
        One row per street segment of the tree (EPSG:2154 lines): ``u``, ``v``, ``kind``,
        ``name``, ``method`` (trench/aerial/duct), ``length_m``, ``eur_per_m``, ``cost_eur``.
    drops
        One line per AP from its position to the street node it hangs on (``ap``,
        ``length_m``, ``cost_eur``).
    pop
        The point of presence (one point) and its street node.
    length_m, cost_eur
        Totals of the street tree (drops excluded).
    drops_cost_eur
        Total of the drops.
    baseline_length_m, baseline_cost_eur
        The same for networkx's ``steiner_tree`` with ``method=STEINER_METHOD`` alone.
    optical
        The GPON optical budget check.
    ap_nodes
        Street node of each AP, in the order given.
    tree
        The street tree itself (networkx graph with ``cost`` and ``length`` on its edges).
    pop_node
        The PoP's street node.
    """

    trenches: gpd.GeoDataFrame
    drops: gpd.GeoDataFrame
    pop: gpd.GeoDataFrame
    length_m: float
    cost_eur: float
    drops_cost_eur: float
    baseline_length_m: float
    baseline_cost_eur: float
    optical: OpticalBudget
    ap_nodes: list[Any]
    tree: nx.Graph = field(default_factory=nx.Graph)
    pop_node: Any = None

    @property
    def improvement(self) -> float:
        """Relative cost saving of the improved tree over networkx's (0.05 = 5 % cheaper)."""
        if self.baseline_cost_eur <= 0:
            return 0.0
        return 1.0 - self.cost_eur / self.baseline_cost_eur


def cost_graph(
    streets: nx.MultiDiGraph, costs: FibreCosts | None = None, ducts: gpd.GeoDataFrame | None = None
) -> nx.Graph:
    """An undirected street graph weighted by backhaul cost (``cost`` €, ``length`` m).

    Parallel and opposite edges collapse to the cheapest; a street segment lying at least
    80 % inside 5 m of an existing duct is priced as a duct pull.

    Raises
    ------
    PlanningError
        If the graph has no edges or lacks edge lengths.
    """
    costs = costs or FibreCosts()
    if streets.number_of_edges() == 0:
        raise PlanningError("the street graph has no edges: no route for the fibre")
    duct_zone = None
    if ducts is not None and len(ducts):
        if ducts.crs is None or str(ducts.crs) != str(streets.graph.get("crs", ducts.crs)):
            raise PlanningError(
                f"the ducts layer must be in the street graph's CRS "
                f"({streets.graph.get('crs')}), got {ducts.crs}"
            )
        duct_zone = shapely.unary_union(ducts.geometry.buffer(5.0).to_numpy())
        shapely.prepare(duct_zone)
    graph = nx.Graph(crs=streets.graph.get("crs"))
    graph.add_nodes_from((n, {"x": d["x"], "y": d["y"]}) for n, d in streets.nodes(data=True))
    for u, v, data in streets.edges(data=True):
        if u == v:
            continue
        if "length" not in data:
            raise PlanningError(f"street edge {u}–{v} has no 'length' attribute")
        length = float(data["length"])
        geom = data.get("geometry")
        if geom is None:
            geom = LineString(
                [
                    (streets.nodes[u]["x"], streets.nodes[u]["y"]),
                    (streets.nodes[v]["x"], streets.nodes[v]["y"]),
                ]
            )
        kind = data.get("kind", data.get("highway", ""))
        kind = kind[0] if isinstance(kind, list) else str(kind)
        in_duct = False
        if duct_zone is not None and geom.length > 0:
            in_duct = geom.intersection(duct_zone).length >= 0.8 * geom.length
        rate, method = costs.street_eur_per_m(kind, in_duct)
        cost = rate * length
        old = graph.get_edge_data(u, v)
        if old is None or cost < old["cost"]:
            name = data.get("name", "")
            graph.add_edge(
                u,
                v,
                cost=cost,
                length=length,
                kind=kind,
                method=method,
                eur_per_m=rate,
                name=name[0] if isinstance(name, list) else (name or ""),
                geometry=geom,
            )
    return graph


def plan_backhaul(
    streets: nx.MultiDiGraph,
    ap_xy: npt.ArrayLike,
    pop_xy: tuple[float, float],
    *,
    costs: FibreCosts | None = None,
    ducts: gpd.GeoDataFrame | None = None,
    split_ratio: int = 32,
    optics_class: str = "B+",
    crs: str = "EPSG:2154",
    ap_ids: list[str] | None = None,
) -> Backhaul:
    """Plan the cheapest fibre tree from the point of presence to every access point.

    Parameters
    ----------
    streets
        The city's street graph (projected, edge ``length`` and ``kind``/``highway``).
    ap_xy
        ``(n, 2)`` AP positions in the graph's CRS (m).
    pop_xy
        Position of the point of presence (e.g. the mairie's telecom room).
    costs
        Unit costs (default :class:`FibreCosts`).
    ducts
        Optional existing ducts (lines, same CRS): streets along them cost a duct pull.
    split_ratio
        GPON splitter ratio, 32 or 64.
    optics_class
        GPON optics class: ``"B+"`` (28 dB) or ``"C+"`` (32 dB).
    crs
        CRS of the outputs.
    ap_ids
        Identifiers of the APs for the drops layer (default ``ap-000``...).

    Returns
    -------
    Backhaul

    Raises
    ------
    PlanningError
        For an empty AP list, a bad split ratio or optics class, or a street graph with no
        edges.
    """
    costs = costs or FibreCosts()
    if split_ratio not in SPLIT_LOSS_DB:
        raise PlanningError(f"split_ratio must be 32 or 64, got {split_ratio!r}")
    if optics_class not in OPTICS_BUDGET_DB:
        raise PlanningError(f"optics_class must be 'B+' or 'C+', got {optics_class!r}")
    xy = np.asarray(ap_xy, dtype=np.float64).reshape(-1, 2)
    if xy.shape[0] == 0:
        raise PlanningError("no access points to connect")
    ids = ap_ids or [f"ap-{i:03d}" for i in range(len(xy))]
    graph = cost_graph(streets, costs, ducts)
    pop_node = _nearest_nodes(graph, np.asarray([pop_xy], dtype=np.float64), None)[0]
    component = nx.node_connected_component(graph, pop_node)
    graph = graph.subgraph(component).copy()
    ap_nodes = attach_points(graph, xy)
    terminals = sorted({pop_node, *ap_nodes}, key=str)
    if len(terminals) == 1:
        tree = nx.Graph()
        tree.add_node(pop_node)
        baseline = tree
    else:
        baseline = nx.algorithms.approximation.steiner_tree(
            graph, terminals, weight="cost", method=STEINER_METHOD
        )
        tree = improve_tree(graph, baseline, set(terminals))
    trenches = _edges_frame(tree, crs)
    drops = _drops(graph, xy, ap_nodes, ids, costs, crs)
    pop = gpd.GeoDataFrame(
        {"name": ["point of presence"], "node": [str(pop_node)]},
        geometry=[Point(pop_xy)],
        crs=crs,
    )
    optical = optical_budget(
        _longest_path_m(tree, pop_node, ap_nodes, drops["length_m"].to_numpy()),
        len(xy),
        split_ratio=split_ratio,
        optics_class=optics_class,
    )
    return Backhaul(
        trenches=trenches,
        drops=drops,
        pop=pop,
        length_m=float(trenches["length_m"].sum()) if len(trenches) else 0.0,
        cost_eur=float(trenches["cost_eur"].sum()) if len(trenches) else 0.0,
        drops_cost_eur=float(drops["cost_eur"].sum()),
        baseline_length_m=_total(baseline, "length"),
        baseline_cost_eur=_total(baseline, "cost"),
        optical=optical,
        ap_nodes=list(ap_nodes),
        tree=tree,
        pop_node=pop_node,
    )


def improve_tree(graph: nx.Graph, tree: nx.Graph, terminals: set[Any]) -> nx.Graph:
    """Improve a Steiner tree by MST re-prune and key-path exchange until neither helps.

    *MST re-prune*: the minimum spanning tree of the subgraph induced by the tree's nodes,
    with non-terminal leaves removed, is never dearer. *Key-path exchange* [2]_: a key path
    (a chain whose inner nodes are degree-2 Steiner nodes) is removed, splitting the tree in
    two, and the cheapest street path reconnecting the two parts replaces it when cheaper.

    Parameters
    ----------
    graph
        Cost-weighted street graph (edge ``cost``).
    tree
        A Steiner tree (subgraph of ``graph``) spanning ``terminals``.
    terminals
        Nodes that must stay connected.

    Returns
    -------
    networkx.Graph
        A tree spanning the terminals, never costlier than ``tree``.
    """
    best = _as_subgraph(graph, tree)
    best_cost = _total(best, "cost")
    for _ in range(20):
        candidate = _key_path_exchange(graph, _mst_prune(graph, best, terminals), terminals)
        cost = _total(candidate, "cost")
        if cost >= best_cost - 1e-6:
            break
        best, best_cost = candidate, cost
    return best


def _as_subgraph(graph: nx.Graph, tree: nx.Graph) -> nx.Graph:
    out = nx.Graph()
    out.add_nodes_from(tree.nodes)
    out.add_edges_from((u, v, graph.edges[u, v]) for u, v in tree.edges)
    return out


def _mst_prune(graph: nx.Graph, tree: nx.Graph, terminals: set[Any]) -> nx.Graph:
    mst = nx.minimum_spanning_tree(graph.subgraph(tree.nodes), weight="cost")
    out = nx.Graph(mst)
    _prune_leaves(out, terminals)
    return out


def _prune_leaves(tree: nx.Graph, terminals: set[Any]) -> None:
    leaves = [n for n in tree.nodes if tree.degree(n) <= 1 and n not in terminals]
    while leaves:
        n = leaves.pop()
        if n not in tree:
            continue
        neighbours = list(tree.neighbors(n))
        tree.remove_node(n)
        leaves.extend(m for m in neighbours if tree.degree(m) <= 1 and m not in terminals)


def _key_paths(tree: nx.Graph, terminals: set[Any]) -> list[list[Any]]:
    keys = {n for n in tree.nodes if n in terminals or tree.degree(n) >= 3}
    paths, seen = [], set()
    for start in keys:
        for nxt in tree.neighbors(start):
            if (start, nxt) in seen:
                continue
            path = [start, nxt]
            while path[-1] not in keys:
                prev, cur = path[-2], path[-1]
                path.append(next(n for n in tree.neighbors(cur) if n != prev))
            seen.add((path[-1], path[-2]))
            seen.add((start, nxt))
            paths.append(path)
    return paths


def _key_path_exchange(graph: nx.Graph, tree: nx.Graph, terminals: set[Any]) -> nx.Graph:
    tree = tree.copy()
    improved = True
    while improved:
        improved = False
        for path in sorted(_key_paths(tree, terminals), key=lambda p: -_path_cost(graph, p)):
            inner = path[1:-1]
            # An earlier exchange in this pass may have changed the path: skip it then.
            if any(not tree.has_edge(a, b) for a, b in pairwise(path)) or any(
                tree.degree(n) != 2 for n in inner
            ):
                continue
            old_cost = _path_cost(graph, path)
            side_a = _side(tree, path[0], path[1])
            side_b = set(tree.nodes) - side_a - set(inner)
            small, large = sorted((side_a, side_b), key=len)
            new_path = _cheapest_connection(graph, small, large, old_cost)
            if new_path is None:
                continue
            tree.remove_nodes_from(inner)
            if tree.has_edge(path[0], path[-1]) and len(path) == 2:
                tree.remove_edge(path[0], path[1])
            tree.add_edges_from((a, b, graph.edges[a, b]) for a, b in pairwise(new_path))
            _prune_leaves(tree, terminals)
            improved = True
    return tree


def _side(tree: nx.Graph, start: Any, cut: Any) -> set[Any]:
    """Nodes reachable from ``start`` without stepping to ``cut``."""
    seen = {start}
    stack = [start]
    while stack:
        n = stack.pop()
        for m in tree.adj[n]:
            if m not in seen and not (n == start and m == cut):
                seen.add(m)
                stack.append(m)
    return seen


def _cheapest_connection(
    graph: nx.Graph, side_a: set[Any], side_b: set[Any], limit: float
) -> list[Any] | None:
    """Cheapest path from any node of ``side_a`` to any of ``side_b`` costing < ``limit``."""
    dist: dict[Any, float] = {}
    parent: dict[Any, Any] = {}
    heap: list[tuple[float, int, Any]] = []
    counter = 0
    for n in side_a:
        dist[n] = 0.0
        heap.append((0.0, counter, n))
        counter += 1
    heapq.heapify(heap)
    while heap:
        d, _, n = heapq.heappop(heap)
        if d > dist.get(n, math.inf) or d >= limit - 1e-6:
            continue
        if n in side_b:
            path = [n]
            while path[-1] in parent:
                path.append(parent[path[-1]])
            return path[::-1]
        for m, data in graph.adj[n].items():
            if m in side_a:
                continue
            nd = d + data["cost"]
            if nd < dist.get(m, math.inf):
                dist[m] = nd
                parent[m] = n
                counter += 1
                heapq.heappush(heap, (nd, counter, m))
    return None


def _path_cost(graph: nx.Graph, path: list[Any]) -> float:
    return float(sum(graph.edges[a, b]["cost"] for a, b in pairwise(path)))


def _total(tree: nx.Graph, attr: str) -> float:
    return float(sum(d.get(attr, 0.0) for _, _, d in tree.edges(data=True)))


def attach_points(graph: nx.Graph, xy: npt.NDArray[np.float64]) -> list[Any]:
    """Split street edges at the points' projections and return the new nodes (in place).

    Each point hangs on its nearest street segment at the closest position, so a lamp-post
    site mid-street needs no drop, and the tree runs exactly to it; the split segments keep
    the street's cost per metre.
    """
    edges = list(graph.edges(data=True))
    geoms = np.array([d["geometry"] for _, _, d in edges], dtype=object)
    points = shapely.points(xy)
    pairs = shapely.STRtree(geoms).query_nearest(points, all_matches=False)
    nearest = np.empty(len(xy), dtype=np.intp)
    nearest[pairs[0]] = pairs[1]
    nodes: list[Any] = [None] * len(xy)
    for e in np.unique(nearest):
        u, v, data = edges[e]
        geom = data["geometry"]
        start = Point(graph.nodes[u]["x"], graph.nodes[u]["y"])
        if shapely.distance(start, Point(geom.coords[0])) > shapely.distance(
            start, Point(geom.coords[-1])
        ):
            geom = shapely.reverse(geom)
        members = np.flatnonzero(nearest == e)
        along = shapely.line_locate_point(geom, points[members])
        order = np.argsort(along, kind="stable")
        graph.remove_edge(u, v)
        prev, prev_at = u, 0.0
        for k in order:
            node = f"site:{members[k]}"
            at = float(along[k])
            proj = geom.interpolate(at)
            graph.add_node(node, x=proj.x, y=proj.y)
            _add_piece(graph, prev, node, data, geom, prev_at, at)
            nodes[members[k]] = node
            prev, prev_at = node, at
        _add_piece(graph, prev, v, data, geom, prev_at, geom.length)
    return nodes


def _add_piece(
    graph: nx.Graph, a: Any, b: Any, data: dict[str, Any], geom: LineString, lo: float, hi: float
) -> None:
    share = (hi - lo) / geom.length if geom.length > 0 else 0.0
    piece = shapely.ops.substring(geom, lo, hi)
    if piece.geom_type != "LineString":  # a zero-length piece comes back as a Point
        piece = LineString([piece.coords[0], piece.coords[0]])
    graph.add_edge(
        a,
        b,
        **{
            **data,
            "geometry": piece,
            "length": data["length"] * share,
            "cost": data["cost"] * share,
        },
    )


def _nearest_nodes(graph: nx.Graph, xy: npt.NDArray[np.float64], _: object) -> list[Any]:
    from scipy.spatial import cKDTree

    nodes = list(graph.nodes)
    coords = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes])
    _, idx = cKDTree(coords).query(xy)
    return [nodes[i] for i in np.atleast_1d(idx)]


def _edges_frame(tree: nx.Graph, crs: str) -> gpd.GeoDataFrame:
    rows = [
        {
            "u": str(u),
            "v": str(v),
            "kind": d["kind"],
            "name": d["name"],
            "method": d["method"],
            "length_m": round(d["length"], 2),
            "eur_per_m": d["eur_per_m"],
            "cost_eur": round(d["cost"], 2),
            "geometry": d["geometry"],
        }
        for u, v, d in tree.edges(data=True)
    ]
    columns = ["u", "v", "kind", "name", "method", "length_m", "eur_per_m", "cost_eur", "geometry"]
    if not rows:
        return gpd.GeoDataFrame(pd.DataFrame(columns=columns), geometry="geometry", crs=crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)[columns]


def _drops(
    graph: nx.Graph,
    xy: npt.NDArray[np.float64],
    nodes: list[Any],
    ids: list[str],
    costs: FibreCosts,
    crs: str,
) -> gpd.GeoDataFrame:
    ends = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes])
    lengths = np.hypot(*(xy - ends).T)
    return gpd.GeoDataFrame(
        {
            "ap": ids,
            "node": [str(n) for n in nodes],
            "length_m": np.round(lengths, 2),
            "cost_eur": np.round(lengths * (costs.drop_eur_per_m + costs.cable_eur_per_m), 2),
        },
        geometry=[LineString([tuple(a), tuple(b)]) for a, b in zip(xy, ends, strict=True)],
        crs=crs,
    )


def _longest_path_m(
    tree: nx.Graph, pop: Any, ap_nodes: list[Any], drops_m: npt.NDArray[np.float64]
) -> float:
    if tree.number_of_edges() == 0:
        return float(drops_m.max(initial=0.0))
    dist = nx.single_source_dijkstra_path_length(tree, pop, weight="length")
    return float(max(dist.get(n, 0.0) + d for n, d in zip(ap_nodes, drops_m, strict=True)))


# ITU-T G.671 uniform splitter insertion loss (dB), worst case.
SPLIT_LOSS_DB = {32: 17.5, 64: 21.0}
# ITU-T G.984.2 Amd. 1 optical budget classes (dB).
OPTICS_BUDGET_DB = {"B+": 28.0, "C+": 32.0}
GPON_REACH_M = 20_000.0
FIBRE_DB_PER_KM = 0.40  # G.652 worst case at 1310 nm (upstream)
SPLICE_DB_PER_KM = 0.10  # one fusion splice (≤ 0.1 dB) every km of cable
CONNECTORS_DB = 2.0  # four connector pairs at 0.5 dB (OLT, ODF, splitter, ONT)


def optical_budget(
    longest_path_m: float,
    n_aps: int,
    *,
    split_ratio: int = 32,
    optics_class: str = "B+",
    safety_margin_db: float = 3.0,
) -> OpticalBudget:
    """Check the GPON loss and reach of the longest PoP → AP run.

    ``loss = split loss + (fibre + splices) × length + connectors``; the link passes when the
    loss plus ``safety_margin_db`` (ageing, repairs) fits the class budget and the length is
    within 20 km.

    Parameters
    ----------
    longest_path_m
        Longest fibre run (m).
    n_aps
        Number of access points (sets the number of PON ports).
    split_ratio
        32 or 64.
    optics_class
        ``"B+"`` or ``"C+"``.
    safety_margin_db
        Margin kept for repairs and ageing (dB).

    Returns
    -------
    OpticalBudget

    Raises
    ------
    PlanningError
        For an unknown split ratio or optics class, or a negative length.
    """
    if split_ratio not in SPLIT_LOSS_DB:
        raise PlanningError(f"split_ratio must be 32 or 64, got {split_ratio!r}")
    if optics_class not in OPTICS_BUDGET_DB:
        raise PlanningError(f"optics_class must be 'B+' or 'C+', got {optics_class!r}")
    if not longest_path_m >= 0:
        raise PlanningError(f"fibre length must be non-negative, got {longest_path_m!r}")
    km = longest_path_m / 1000.0
    loss = SPLIT_LOSS_DB[split_ratio] + (FIBRE_DB_PER_KM + SPLICE_DB_PER_KM) * km + CONNECTORS_DB
    budget = OPTICS_BUDGET_DB[optics_class]
    margin = budget - loss - safety_margin_db
    reach_ok = longest_path_m <= GPON_REACH_M
    return OpticalBudget(
        split_ratio=split_ratio,
        longest_path_m=round(longest_path_m, 1),
        loss_db=round(loss, 2),
        budget_db=budget,
        margin_db=round(margin, 2),
        reach_ok=reach_ok,
        ok=reach_ok and margin >= 0,
        pon_ports=max(1, math.ceil(n_aps / split_ratio)),
    )


def load_costs(path: str | Path) -> FibreCosts:
    """Read unit costs from a TOML file (a ``[costs]`` table; missing keys keep defaults).

    Example::

        [costs]
        ap_eur = 3000
        drop_eur_per_m = 80
        [costs.trench_eur_per_m]
        major = 150
        pedestrian = 240

    Raises
    ------
    ConfigError
        If the file is unreadable, has no ``[costs]`` table or an unknown key.
    PlanningError
        If a value is not a non-negative number.
    """
    from dataclasses import fields

    from villenum.config import load_toml
    from villenum.errors import ConfigError

    doc = load_toml(path)
    table = doc.get("costs")
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: missing [costs] table")
    known = {f.name for f in fields(FibreCosts)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"{path} [costs]: unknown key '{unknown[0]}' (known: {', '.join(sorted(known))})"
        )
    values = dict(table)
    if "trench_eur_per_m" in values:
        if not isinstance(values["trench_eur_per_m"], dict):
            raise ConfigError(
                f"{path} [costs]: 'trench_eur_per_m' must be a table of €/m by street kind"
            )
        values["trench_eur_per_m"] = {**TRENCH_EUR_PER_M, **values["trench_eur_per_m"]}
    if "aerial_kinds" in values:
        values["aerial_kinds"] = tuple(values["aerial_kinds"])
    return FibreCosts(**values)
