"""An offline web map of a coverage result: signal raster, transmitters and zone shares.

Built from :mod:`villenum.maps` (no CDN: Leaflet and its plugins are local files), so the page
opens from disk on a machine without internet.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

# colour-scale ranges (dBm): Wi-Fi received power and LTE RSRP
_RANGES = {"received power": (-90.0, -50.0), "RSRP": (-125.0, -75.0)}


def coverage_map(
    city: Any,
    tif_path: str | Path,
    transmitters: Sequence[Any],
    zone_table: pd.DataFrame | None = None,
    *,
    quantity: str = "received power",
) -> Any:
    """Build the map: best-server power (band 1 of the GeoTIFF), the sites, the zones.

    Parameters
    ----------
    city
        The city model (``boundary``, ``zones``, ``attribution``).
    tif_path
        A GeoTIFF written by :meth:`~villenum.coverage.raster.CoverageResult.to_geotiff`.
    transmitters
        The transmitters, shown as circles with their id, band and height.
    zone_table
        Output of :func:`~villenum.coverage.stats.zone_stats`; its first area-share column
        colours the zones.
    quantity
        ``"received power"`` (Wi-Fi) or ``"RSRP"`` (LTE), for the colour range and legend.

    Returns
    -------
    folium.Map
    """
    from villenum.maps import layers
    from villenum.maps.offline import offline_map

    # the map adds the OpenStreetMap credit itself; pass the other sources
    sources = [s.strip() for s in city.attribution.split(";") if "OpenStreetMap" not in s]
    m = offline_map(
        bounds_wgs84=layers.wgs84_bounds(city.boundary),
        title=f"{city.name} — {quantity} coverage (villenum)",
        attribution=[html.escape(s) for s in sources if s],
    )
    layers.add_streets(m, city.streets, name="Streets", show=False)
    if zone_table is not None:
        share = next(c for c in zone_table.columns if c.startswith("area_share_"))
        zones = city.zones.merge(
            zone_table[["zone_id", share]].rename(columns={share: "covered_share"}),
            on="zone_id",
            how="left",
        )
        zones["covered_share"] = (zones["covered_share"] * 100).round(1)
        layers.add_zones(
            m,
            zones,
            "covered_share",
            name="Zones: area covered (%)",
            legend_title=f"Area covered at {share.removeprefix('area_share_')} (%)",
            vmin=0.0,
            vmax=100.0,
            show=False,
        )
    vmin, vmax = _RANGES.get(quantity, (-100.0, -50.0))
    layers.add_raster(
        m,
        tif_path,
        band=1,
        colormap="viridis",
        vmin=vmin,
        vmax=vmax,
        legend_title=f"Best-server {quantity} (dBm)",
        name=f"Best-server {quantity}",
    )
    sites = gpd.GeoDataFrame(
        {
            "name": [t.site_id for t in transmitters],
            "band": [
                getattr(t, "system", None) or f"{getattr(t, 'band', '')} GHz" for t in transmitters
            ],
            "height_m": [t.height_m for t in transmitters],
        },
        geometry=[Point(t.x, t.y) for t in transmitters],
        crs=city.boundary.crs,
    )
    layers.add_sites(m, sites, name="Transmitters", column="band", legend_title="Band")
    return m
