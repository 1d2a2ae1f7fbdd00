"""The city model: every layer villenum needs, in one projected metric CRS.

A city is a folder with a ``city.toml`` and the files it names. The embedded default is
Biarritz (``villenum/data/biarritz``); any other city in the same layout loads the same way::

    city.toml            name, insee, population, peak_factor, off_season_factor, crs,
                         data_extent (optional [w, s, e, n] of the OSM extract), [layers], [notes]
    boundary             commune polygon(s); with several rows, the one whose `code` is `insee`
    streets              an osmnx GraphML street graph (optionally .gz): node x/y, edge length,
                         highway (street class), name, geometry
    buildings            footprints with `height` (m, optional), `kind` (OSM building=*), `name`
    beaches, water, green, coastline, town_hall   optional vector layers
    fibre                optional ARCEP FttH deployment CSV (one row per commune, `code_insee`)
    zones                optional official neighbourhoods (IRIS, quartiers) with a `name`;
                         derived from the streets when absent (see villenum.data.zones)

Vector files are GeoJSON (WGS84, RFC 7946), GeoPackage or gzipped GeoJSON; every layer is
projected to ``crs`` (default Lambert-93, EPSG:2154) on load.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pyproj
import shapely

from villenum.config import load_toml
from villenum.data import _io, population
from villenum.data._land import land_part
from villenum.data.zones import assign_zone, derive_zones
from villenum.errors import ConfigError, DataError

log = logging.getLogger(__name__)

EMBEDDED_DIR = Path(__file__).resolve().parent
DEFAULT_CRS = "EPSG:2154"
# Context layers (coast, beaches, parks) are kept this far beyond the commune boundary.
CONTEXT_BUFFER_M = 1000.0
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL 1.0)"


@dataclass(frozen=True)
class FibreFigures:
    """ARCEP FttH deployment figures for one commune (fixed very-high-speed broadband).

    ``connectable`` maps a quarter label (``"2018T1"``) to the premises connectable to FttH.
    The figures are old: show them with their quarter.
    """

    insee: str
    commune: str
    dwellings: int
    businesses: int
    l3313_operator: str
    infrastructure_operator: str
    connectable: dict[str, int]
    deployment_class: dict[str, int]
    source: str = "ARCEP, observatoire du haut et très haut débit fixe (déploiements)"

    @property
    def latest_quarter(self) -> str:
        """The most recent quarter in the figures."""
        return max(self.connectable)

    @property
    def premises(self) -> int:
        """Dwellings plus business premises."""
        return self.dwellings + self.businesses

    @property
    def latest_share(self) -> float:
        """Connectable premises at the latest quarter ÷ all premises."""
        return self.connectable[self.latest_quarter] / self.premises if self.premises else 0.0


@dataclass
class City:
    """Every layer of a city model in one projected CRS (``crs``, metres).

    Attributes
    ----------
    boundary
        One row: the commune's land polygon (``area_km2``, ``population``).
    streets
        osmnx-compatible MultiDiGraph (projected x/y, edge ``length`` m, ``highway``/``kind``,
        ``name``, ``geometry``).
    buildings
        Footprints with ``height_m``, ``kind``, ``name``, ``levels_est``, ``floor_area_m2``,
        ``residents``, ``zone_id``.
    zones
        Neighbourhoods: ``zone_id``, ``name``, ``area_km2``, ``population``, ``visitors_peak``,
        ``buildings``, ``data_poor``; they tile ``boundary``.
    demand
        Points with ``weight`` (August peak), ``weight_off`` (off-season), ``kind``, ``place``,
        ``zone_id``.
    """

    name: str
    insee: str
    crs: str
    population: int
    peak_factor: float
    off_season_factor: float
    boundary: gpd.GeoDataFrame
    streets: nx.MultiDiGraph
    buildings: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    beaches: gpd.GeoDataFrame
    water: gpd.GeoDataFrame
    green: gpd.GeoDataFrame
    coastline: gpd.GeoDataFrame
    town_hall: gpd.GeoDataFrame
    fibre: FibreFigures | None
    attribution: str
    notes: list[str] = field(default_factory=list)
    source_dir: Path = EMBEDDED_DIR

    @property
    def street_lines(self) -> gpd.GeoDataFrame:
        """The street graph's edges as a GeoDataFrame (one row per directed edge)."""
        return ox.graph_to_gdfs(self.streets, nodes=False)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Every vector layer by name (the streets as lines), e.g. for export."""
        edges = self.street_lines.reset_index()
        street_cols = [c for c in ("u", "v", "key", "kind", "name", "length") if c in edges]
        return {
            "boundary": self.boundary,
            "zones": self.zones,
            "buildings": self.buildings,
            "streets": edges[[*street_cols, "geometry"]],
            "demand": self.demand,
            "beaches": self.beaches,
            "water": self.water,
            "green": self.green,
            "coastline": self.coastline,
            "town_hall": self.town_hall,
        }


def embedded_cities() -> list[str]:
    """Names of the cities shipped with villenum."""
    return sorted(p.parent.name for p in EMBEDDED_DIR.glob("*/city.toml"))


def load_city(
    name_or_path: str | Path = "biarritz",
    *,
    peak_factor: float | None = None,
    off_season_factor: float | None = None,
) -> City:
    """Load a city model.

    Parameters
    ----------
    name_or_path
        An embedded city's name (``"biarritz"``) or the path of a city folder (see the module
        docstring for the layout).
    peak_factor
        August population ÷ residents; default from ``city.toml`` (Biarritz: 4.0, an
        assumption documented there).
    off_season_factor
        Off-season population ÷ residents; default from ``city.toml``.

    Returns
    -------
    City
        The model; cached, so later calls with the same arguments return the same object
        (do not modify it in place).

    Raises
    ------
    DataError
        An unknown city, a missing or corrupt file, invalid or unprojected geometry.
    """
    folder = _resolve(name_or_path)
    return _load_cached(folder, peak_factor, off_season_factor)


def to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The layer in WGS84 longitude/latitude (for GeoJSON and web maps)."""
    return gdf.to_crs("EPSG:4326")


def _resolve(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    candidate = Path(text).expanduser()
    if candidate.is_dir():
        if not (candidate / "city.toml").is_file():
            raise DataError(f"{candidate} is not a city folder: it has no city.toml")
        return candidate.resolve()
    if candidate.exists():
        raise DataError(f"{candidate} is a file; give a city folder containing city.toml")
    embedded = EMBEDDED_DIR / text.lower()
    if re.fullmatch(r"[A-Za-z][\w-]*", text) and (embedded / "city.toml").is_file():
        return embedded
    known = ", ".join(embedded_cities())
    raise DataError(
        f"unknown city '{text}': not a city folder, and the embedded cities are {known}"
    )


@functools.lru_cache(maxsize=8)
def _load_cached(folder: Path, peak_factor: float | None, off_season_factor: float | None) -> City:
    try:
        meta = load_toml(folder / "city.toml")
    except ConfigError as exc:
        raise DataError(str(exc)) from None
    spec = _CitySpec.from_toml(meta, folder)
    peak = spec.peak_factor if peak_factor is None else peak_factor
    off = spec.off_season_factor if off_season_factor is None else off_season_factor
    for label, value in (("peak_factor", peak), ("off_season_factor", off)):
        if not (isinstance(value, int | float) and 1.0 <= value <= 50.0):
            raise DataError(f"{label} must be a number between 1 and 50, got {value!r}")
    log.info("loading city %s from %s", spec.name, folder)
    return _build(spec, folder, float(peak), float(off))


@dataclass(frozen=True)
class _CitySpec:
    name: str
    insee: str
    crs: str
    population: int
    peak_factor: float
    off_season_factor: float
    layers: dict[str, str]
    notes: list[str]
    data_extent: tuple[float, float, float, float] | None

    @classmethod
    def from_toml(cls, meta: dict[str, Any], folder: Path) -> _CitySpec:
        where = folder / "city.toml"

        def get(key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
            value = meta.get(key, default)
            if value is None or isinstance(value, bool) or not isinstance(value, kind):
                raise DataError(f"{where}: '{key}' is missing or has the wrong type")
            return value

        crs = get("crs", str, DEFAULT_CRS)
        try:
            parsed = pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError:
            raise DataError(f"{where}: crs '{crs}' is not a known CRS") from None
        if not parsed.is_projected:
            raise DataError(f"{where}: crs '{crs}' is not projected; the model needs metres")
        layers = meta.get("layers")
        if not isinstance(layers, dict) or not all(isinstance(v, str) for v in layers.values()):
            raise DataError(f"{where}: a [layers] table of file names is required")
        for required in ("boundary", "streets", "buildings"):
            if required not in layers:
                raise DataError(f"{where}: [layers] must name the '{required}' file")
        extent = meta.get("data_extent")
        if extent is not None and (
            not isinstance(extent, list)
            or len(extent) != 4
            or not all(isinstance(v, int | float) for v in extent)
        ):
            raise DataError(f"{where}: data_extent must be [west, south, east, north] in degrees")
        notes = meta.get("notes", {})
        return cls(
            name=get("name", str),
            insee=str(get("insee", (str, int))),
            crs=crs,
            population=get("population", int),
            peak_factor=float(get("peak_factor", (int, float), 1.0)),
            off_season_factor=float(get("off_season_factor", (int, float), 1.0)),
            layers=dict(layers),
            notes=[str(v) for v in notes.values()] if isinstance(notes, dict) else [],
            data_extent=tuple(float(v) for v in extent) if extent else None,  # type: ignore[arg-type]
        )


def _build(spec: _CitySpec, folder: Path, peak_factor: float, off_season_factor: float) -> City:
    crs = spec.crs

    streets = _io.read_street_graph(folder / spec.layers["streets"], crs)
    street_lines = ox.graph_to_gdfs(streets, nodes=False)[["kind", "name", "geometry"]]
    commune = _commune_polygon(
        _io.read_layer(folder / spec.layers["boundary"], crs, what="boundary"), spec.insee
    )
    surroundings = commune.buffer(CONTEXT_BUFFER_M)

    def optional(layer: str) -> gpd.GeoDataFrame:
        """A context layer, clipped to the commune's surroundings (extracts reach far beyond)."""
        if layer not in spec.layers:
            return gpd.GeoDataFrame(geometry=[], crs=crs)
        gdf = _io.read_layer(folder / spec.layers[layer], crs, what=layer)
        return gpd.clip(gdf, surroundings).reset_index(drop=True)

    coastline = optional("coastline")
    land = land_part(commune, coastline, street_lines)
    _check_extent(streets, land, crs)

    buildings = _buildings(
        _io.read_layer(folder / spec.layers["buildings"], crs, what="buildings"),
        land,
        spec.population,
    )
    zones = _zones(spec, folder, land, street_lines, crs)
    buildings["zone_id"] = assign_zone(buildings.geometry.representative_point(), zones).to_numpy()
    beaches = optional("beaches")
    demand = population.demand_points(
        buildings,
        street_lines,
        beaches,
        coastline,
        zones,
        commune,
        population=spec.population,
        peak_factor=peak_factor,
        off_season_factor=off_season_factor,
    )
    zones = _zone_figures(zones, buildings, demand)

    boundary = gpd.GeoDataFrame(
        {
            "code": [spec.insee],
            "name": [spec.name],
            "population": [spec.population],
            "area_km2": [land.area / 1e6],
        },
        geometry=[land],
        crs=crs,
    )
    fibre = _fibre(folder / spec.layers["fibre"], spec.insee) if "fibre" in spec.layers else None
    notes = list(spec.notes)
    notes.append(
        f"Peak visitors assume {peak_factor:g}× residents in August and {off_season_factor:g}× "
        "off-season, spread over beaches, the seafront and squares (a model assumption)."
    )
    return City(
        name=spec.name,
        insee=spec.insee,
        crs=crs,
        population=spec.population,
        peak_factor=peak_factor,
        off_season_factor=off_season_factor,
        boundary=boundary,
        streets=streets,
        buildings=buildings,
        zones=zones,
        demand=demand,
        beaches=beaches,
        water=optional("water"),
        green=optional("green"),
        coastline=coastline,
        town_hall=optional("town_hall"),
        fibre=fibre,
        attribution=(
            f"{OSM_ATTRIBUTION}; IGN Admin Express, INSEE, ARCEP (Licence Ouverte / Etalab)"
        ),
        notes=notes,
        source_dir=folder,
    )


def _commune_polygon(gdf: gpd.GeoDataFrame, insee: str) -> shapely.Geometry:
    if "code" in gdf.columns and len(gdf) > 1:
        gdf = gdf[gdf["code"].astype(str) == insee]
    if len(gdf) != 1:
        raise DataError(f"the boundary layer must hold exactly one commune with code {insee}")
    polygon = gdf.geometry.iloc[0]
    if polygon.geom_type not in ("Polygon", "MultiPolygon"):
        raise DataError(f"the boundary of {insee} is a {polygon.geom_type}, not a polygon")
    return polygon


def _check_extent(streets: nx.MultiDiGraph, land: shapely.Geometry, crs: str) -> None:
    xs = np.fromiter((d["x"] for _, d in streets.nodes(data=True)), float)
    ys = np.fromiter((d["y"] for _, d in streets.nodes(data=True)), float)
    inside = shapely.contains_xy(land.buffer(2000.0), xs, ys)
    if inside.mean() < 0.5:
        raise DataError(
            f"most street nodes lie outside the commune boundary in {crs}: are the layers of the "
            "same city?"
        )


def _buildings(
    raw: gpd.GeoDataFrame, land: shapely.Geometry, residents_total: int
) -> gpd.GeoDataFrame:
    # Buildings just outside the commune still block radio paths near its edge.
    near = raw.geometry.intersects(land.buffer(300.0))
    raw = raw[near].reset_index(drop=True)
    if raw.empty:
        raise DataError("no building footprint lies in or near the commune")
    polygons = raw.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polygons.all():
        raise DataError("the buildings layer must contain only polygons (footprints)")
    kind = raw["kind"].fillna("yes").astype(str) if "kind" in raw else pd.Series("yes", raw.index)
    name = raw["name"] if "name" in raw else pd.Series(None, raw.index, dtype=object)
    height = raw["height"] if "height" in raw else pd.Series(np.nan, raw.index)
    buildings = gpd.GeoDataFrame(
        {"kind": kind, "name": name, "height_m": population.building_heights(height, kind)},
        geometry=raw.geometry,
        crs=raw.crs,
    )
    buildings["levels_est"] = population.estimated_levels(buildings["height_m"])
    buildings["floor_area_m2"] = buildings.geometry.area * buildings["levels_est"]
    buildings["residents"] = population.residents_by_building(buildings, land, residents_total)
    return buildings


def _zones(
    spec: _CitySpec, folder: Path, land: shapely.Geometry, street_lines: gpd.GeoDataFrame, crs: str
) -> gpd.GeoDataFrame:
    if "zones" in spec.layers:
        zones = _io.read_layer(folder / spec.layers["zones"], crs, what="zones")
        if "name" not in zones:
            raise DataError("the zones layer needs a 'name' column")
        zones = zones.assign(geometry=zones.geometry.intersection(land))
        zones = zones[~zones.geometry.is_empty].reset_index(drop=True)
        zones.insert(0, "zone_id", [f"Z{i + 1:02d}" for i in range(len(zones))])
        zones["data_poor"] = False
        return zones[["zone_id", "name", "data_poor", "geometry"]]
    extent = None
    if spec.data_extent is not None:
        extent = (
            gpd.GeoSeries([shapely.box(*spec.data_extent)], crs="EPSG:4326").to_crs(crs).iloc[0]
        )
    return derive_zones(land, street_lines, data_extent=extent)


def _zone_figures(
    zones: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, demand: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    residents = buildings.groupby("zone_id")["residents"].sum()
    counts = buildings.groupby("zone_id").size()
    visitors = demand[demand["kind"] == "visitor"].groupby("zone_id")["weight"].sum()
    zones = zones.copy()
    zones["area_km2"] = zones.geometry.area / 1e6
    zones["population"] = zones["zone_id"].map(residents).fillna(0).astype(int)
    zones["visitors_peak"] = zones["zone_id"].map(visitors).fillna(0.0).round().astype(int)
    zones["buildings"] = zones["zone_id"].map(counts).fillna(0).astype(int)
    columns = [
        "zone_id",
        "name",
        "area_km2",
        "population",
        "visitors_peak",
        "buildings",
        "data_poor",
        "geometry",
    ]
    return gpd.GeoDataFrame(zones[columns], geometry="geometry", crs=zones.crs)


def _fibre(path: Path, insee: str) -> FibreFigures:
    table = _io.read_csv(path, what="fibre", dtype={"code_insee": str})
    if "code_insee" not in table:
        raise DataError(f"the fibre file {path} has no 'code_insee' column (ARCEP layout)")
    rows = table[table["code_insee"] == insee]
    if rows.empty:
        raise DataError(f"the fibre file {path} has no row for commune {insee}")
    row = rows.iloc[0]
    quarters = sorted(
        c.removeprefix("locaux_raccordables_")
        for c in table
        if c.startswith("locaux_raccordables_")
    )
    try:
        return FibreFigures(
            insee=insee,
            commune=str(row.get("nom_commune", "")),
            dwellings=int(row["logements"]),
            businesses=int(row["etablissements"]),
            l3313_operator=str(row.get("engagement_L33-13", "-")),
            infrastructure_operator=str(row.get(f"OI_{quarters[-1]}", "-")),
            connectable={q: int(row[f"locaux_raccordables_{q}"]) for q in quarters},
            deployment_class={
                q: int(row[f"categorie_{q}"]) for q in quarters if f"categorie_{q}" in row
            },
        )
    except (KeyError, ValueError, IndexError) as exc:
        raise DataError(f"the fibre file {path} is not in the ARCEP layout: {exc}") from None
