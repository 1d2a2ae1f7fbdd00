"""The Wi-Fi plan map: planned access points, their coverage, the fibre tree, zone coverage.

What the engineer shows the council: each neighbourhood coloured by the share of its people
the plan serves, the signal of the planned APs, the fibre trenches by method from the point
of presence, and every AP with what it serves. Readable offline (no tiles, local assets).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import folium
import numpy as np

from villenum.maps import layers
from villenum.maps._elements import Legend
from villenum.maps.offline import offline_map

if TYPE_CHECKING:
    from villenum.planning.wifi import WifiPlan


def plan_map(plan: WifiPlan, *, asset_url_prefix: str | None = None) -> folium.Map:
    """Build the map of a Wi-Fi plan.

    Parameters
    ----------
    plan
        A plan from :func:`villenum.planning.wifi.plan_wifi`.
    asset_url_prefix
        See :func:`villenum.maps.offline.offline_map`.

    Returns
    -------
    folium.Map
        Layers: zones by covered share, the plan's coverage raster (dBm), streets, fibre
        trenches (by method) and drops, unchosen candidates (off by default), access points,
        point of presence; a key-figures box.
    """
    city = plan.city
    sources = [s.strip() for s in city.attribution.split(";") if "OpenStreetMap" not in s]
    m = offline_map(
        bounds_wgs84=layers.wgs84_bounds(city.boundary),
        asset_url_prefix=asset_url_prefix,
        attribution=[html.escape(s) for s in sources if s],
    )
    zones = city.zones[["zone_id", "geometry"]].merge(plan.zones, on="zone_id")
    layers.add_zones(
        m,
        zones.fillna({"covered_pct": 0.0}),
        "covered_pct",
        name="Share of people served, by zone",
        legend_title="People served (%)",
        vmin=0.0,
        vmax=100.0,
        tooltip_columns=["demand", "covered", "covered_pct", "aps"],
    )
    cov = plan.coverage
    if cov is not None:
        rx = np.where(cov.covered(-90.0), cov.rx_dbm, np.nan).astype(np.float64)
        layers.add_raster(
            m,
            rx,
            transform=cov.transform,
            crs=cov.crs,
            colormap="viridis",
            vmin=-90.0,
            vmax=-40.0,
            legend_title="Wi-Fi signal of the plan (dBm)",
            name="Wi-Fi signal (dBm)",
            opacity=0.55,
        )
    layers.add_streets(m, city.streets, show=False)
    others = plan.candidates[~plan.candidates["chosen"]]
    if len(others):
        layers.add_sites(
            m,
            others[["candidate_id", "source", "height_m", "reach_people", "geometry"]],
            name="Candidate sites not chosen",
            label_column="candidate_id",
            color="#999999",
            radius=3,
            show=False,
        )
    trenches = plan.backhaul.trenches
    if len(trenches):
        layers.add_fibre(
            m,
            trenches[["method", "kind", "name", "length_m", "cost_eur", "geometry"]],
            name="Fibre backhaul",
            column="method",
            legend_title="Fibre backhaul",
        )
    layers.add_fibre(
        m,
        plan.backhaul.drops[["ap", "length_m", "cost_eur", "geometry"]],
        name="Drops to the APs",
        color=layers.OKABE_ITO[4],
        weight=2,
    )
    layers.add_sites(
        m,
        plan.sites[
            [
                "ap_id",
                "name",
                "source",
                "height_m",
                "zone",
                "reach_people",
                "unique_people",
                "geometry",
            ]
        ],
        name="Planned access points",
        column="source",
        legend_title="Access points on",
        radius=7,
    )
    layers.add_sites(
        m,
        plan.backhaul.pop.assign(name="Fibre point of presence")[["name", "geometry"]],
        name="Point of presence",
        tooltip_columns=(),
        color=layers.OKABE_ITO[5],
        radius=9,
    )
    s = plan.summary
    figures = (
        f"<b>{html.escape(str(s.get('city', city.name)))} — Wi-Fi plan</b><br>"
        f"{s.get('aps', len(plan.sites))} access points · "
        f"{s.get('covered_pct', 0):.1f} % of {html.escape(str(s.get('season_label', '')))} "
        f"demand served<br>fibre {plan.backhaul.length_m / 1000:.2f} km · total "
        f"{plan.total_eur:,.0f} € excl. VAT"
    )
    m.add_child(Legend(figures, position="topright"))
    return m
