"""The city map: neighbourhoods, buildings, streets, water, parks and beaches, readable offline.

The first map a city engineer opens: where people live (residents per km² by neighbourhood),
what is built, and the street network the fibre will follow, with the data caveats of the
city model on the map itself.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import TYPE_CHECKING

import folium

from villenum.maps import layers
from villenum.maps._elements import Legend
from villenum.maps.offline import offline_map, save_map

if TYPE_CHECKING:
    from villenum.data import City

# Background colours (light tints, distinct from the data layers drawn above them).
_WATER = "#9ecae1"
_GREEN = "#b5d6a7"
_BEACH = "#f1e2b6"


def city_map(city: City, *, asset_url_prefix: str | None = None) -> folium.Map:
    """Build the map of a city model.

    Parameters
    ----------
    city
        A city model from :func:`villenum.data.load_city`.
    asset_url_prefix
        See :func:`villenum.maps.offline.offline_map` (for a map served by a Flask app).

    Returns
    -------
    folium.Map
        Layers: neighbourhoods (residents per km²), water, parks, beaches, buildings, streets,
        the town hall; a legend, the data caveats and the sources' attribution.
    """
    sources = [s.strip() for s in city.attribution.split(";") if "OpenStreetMap" not in s]
    m = offline_map(
        bounds_wgs84=layers.wgs84_bounds(city.boundary),
        asset_url_prefix=asset_url_prefix,
        title=f"{city.name} — city model (villenum)",
        attribution=[html.escape(s) for s in sources if s],
    )
    zones = city.zones.assign(residents_per_km2=city.zones["population"] / city.zones["area_km2"])
    layers.add_zones(
        m,
        zones,
        "residents_per_km2",
        name="Neighbourhoods (quartiers)",
        legend_title="Residents per km²",
        tooltip_columns=[
            c
            for c in (
                "population",
                "visitors_peak",
                "area_km2",
                "buildings",
                "data_poor",
                "residents_per_km2",
            )
            if c in zones
        ],
    )
    layers.add_polygons(m, city.water, name="Water", color=_WATER, fill_opacity=0.8)
    layers.add_polygons(m, city.green, name="Parks and green spaces", color=_GREEN)
    layers.add_polygons(m, city.beaches, name="Beaches (plages)", color=_BEACH, fill_opacity=0.8)
    layers.add_buildings(m, city.buildings, tooltip_columns=("kind", "height_m", "residents"))
    layers.add_streets(m, city.streets)
    layers.add_sites(
        m,
        city.town_hall.assign(name=f"Town hall (mairie) of {city.name}"),
        name="Town hall (mairie)",
        tooltip_columns=(),
        color=layers.OKABE_ITO[5],
        radius=8,
    )
    if city.notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in city.notes)
        m.add_child(
            Legend(
                f"<b>Data caveats — {html.escape(city.name)}</b>"
                f'<ul style="margin:0;padding-left:1.1em;max-width:26em">{items}</ul>',
                position="bottomleft",
            )
        )
    return m


def write_city_map(city: City | str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """Write the city map as HTML with its local assets (see :func:`city_map`).

    Parameters
    ----------
    city
        A city model, or an embedded city's name or a city folder for
        :func:`villenum.data.load_city`.
    path
        The HTML file to write (``<stem>_files/`` is written beside it).

    Returns
    -------
    pathlib.Path
        The HTML file.

    Raises
    ------
    DataError
        If the city cannot be loaded.
    MapError
        If the map cannot be written.
    """
    if isinstance(city, str | os.PathLike):
        from villenum.data import load_city

        city = load_city(city)
    return save_map(city_map(city), path)
