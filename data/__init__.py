"""The city model: boundary, streets, buildings, neighbourhoods, population and demand.

The names below are loaded on first use: importing ``villenum.data`` (as every ``villenum``
command does to register its CLI) must not pay for geopandas and osmnx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from villenum.data.city import City, FibreFigures, embedded_cities, load_city, to_wgs84

__all__ = ["City", "FibreFigures", "embedded_cities", "load_city", "to_wgs84"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("villenum.data.city"), name)
    raise AttributeError(f"module 'villenum.data' has no attribute {name!r}")
