"""Planning: candidate sites, access-point placement, fibre backhaul and 4G gaps.

* :mod:`~villenum.planning.candidates` — candidate AP sites (lamp posts, public roofs, the
  user's, existing hotspots) and the peak / off-season demand;
* :mod:`~villenum.planning.placement` — ``maximal_coverage`` and ``set_cover`` on a sparse
  coverage matrix, exact (HiGHS) or greedy, always with a proven bound;
* :mod:`~villenum.planning.fibre` — Steiner-tree backhaul on the street graph, costs, GPON
  optical budget;
* :mod:`~villenum.planning.gaps` — LTE gaps by zone and street, small-cell sites ranked;
* :mod:`~villenum.planning.wifi` and :mod:`~villenum.planning.report` — the whole Wi-Fi plan
  and its files (GeoPackage, bill of materials, per-zone table, map, inventory).
"""
