"""Radio coverage: propagation models, link budgets, building-aware line of sight, rasters.

Modules (import them directly; this package stays light so that ``villenum --help`` is fast):

- :mod:`~villenum.coverage.propagation` — median path loss of ITU-R P.1411, 3GPP TR 38.901
  (UMi, UMa, LoS probability, O2I), Okumura-Hata and COST-231, as pure vectorised functions;
- :mod:`~villenum.coverage.radio` — Wi-Fi transmitters and clients, French 2.4/5 GHz limits,
  802.11 MCS sensitivities and rates;
- :mod:`~villenum.coverage.lte` — LTE sectors from an ANFR extract, three-sector pattern;
- :mod:`~villenum.coverage.los` — line of sight against the buildings' footprints and heights;
- :mod:`~villenum.coverage.raster` — :func:`compute_coverage` and :class:`CoverageResult`
  (GeoTIFF, per-site matrix for the planner);
- :mod:`~villenum.coverage.stats` — per-zone shares of area, residents and visitors covered;
- :mod:`~villenum.coverage.sites` — access points from GeoJSON or candidate points;
- :mod:`~villenum.coverage.fibre` — FttH eligibility per building along the streets;
- :mod:`~villenum.coverage.mapview` — an offline web map of a result.
"""
