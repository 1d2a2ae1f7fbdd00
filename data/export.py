"""Writing the city model to files (GeoPackage) and summarising it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd

from villenum.data.city import City
from villenum.errors import DataError


def export_geopackage(city: City, path: str | Path) -> Path:
    """Write every vector layer of the city to one GeoPackage (one table per layer).

    The file is written next to its final name and renamed into place, so an interrupted export
    never leaves a half-written GeoPackage behind; an existing file is replaced.

    Parameters
    ----------
    city
        The city model.
    path
        Destination ``.gpkg`` file; its folder is created if needed.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    DataError
        If the path does not end in ``.gpkg`` or cannot be written.
    """
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise DataError(f"the export file must end in .gpkg, got {path}")
    partial = path.with_name(f"{path.stem}.partial.gpkg")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
        for name, layer in city.layers().items():
            if layer.empty:
                continue
            layer.to_file(partial, layer=name, driver="GPKG", engine="pyogrio")
        _write_attribution(partial, city)
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise DataError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def _write_attribution(gpkg: Path, city: City) -> None:
    """Record the sources and caveats in a plain table, so they travel with the data."""
    with sqlite3.connect(gpkg) as db:
        db.execute("CREATE TABLE villenum_attribution (item TEXT, text TEXT)")
        rows = [("attribution", city.attribution), *(("note", n) for n in city.notes)]
        db.executemany("INSERT INTO villenum_attribution VALUES (?, ?)", rows)


def summary_table(city: City) -> pd.DataFrame:
    """Per-zone summary: residents, peak visitors, buildings and area, with a total row."""
    table = city.zones[
        ["zone_id", "name", "area_km2", "population", "visitors_peak", "buildings"]
    ].copy()
    total = pd.DataFrame(
        [
            {
                "zone_id": "",
                "name": "Total",
                "area_km2": table["area_km2"].sum(),
                "population": table["population"].sum(),
                "visitors_peak": table["visitors_peak"].sum(),
                "buildings": table["buildings"].sum(),
            }
        ]
    )
    return pd.concat([table, total], ignore_index=True)


def summary_text(city: City) -> str:
    """A human-readable summary of the city model (what ``villenum city info`` prints)."""
    graph = city.streets
    street_km = sum(d["length"] for _, _, d in graph.edges(data=True)) / 2000.0
    lines = [
        f"{city.name} (INSEE {city.insee}) — city model in {city.crs}",
        f"  land area          {city.boundary['area_km2'].iloc[0]:8.2f} km²",
        f"  residents          {city.population:8,d}  (INSEE population municipale)",
        f"  August peak        {city.demand['weight'].sum():8,.0f}  "
        f"(peak factor {city.peak_factor:g}, an assumption)",
        f"  buildings          {len(city.buildings):8,d}  "
        f"({int((city.buildings['residents'] > 0).sum()):,d} residential)",
        f"  streets            {graph.number_of_nodes():8,d} nodes, {street_km:,.0f} km",
        f"  demand points      {len(city.demand):8,d}",
        f"  zones              {len(city.zones):8d}",
    ]
    if city.fibre is not None:
        fibre = city.fibre
        quarter = fibre.latest_quarter
        lines.append(
            f"  FttH ({quarter})     {fibre.connectable[quarter]:8,d} connectable premises of "
            f"{fibre.premises:,d} ({fibre.latest_share:.0%}; ARCEP, {quarter[:4]}-{quarter[4:]})"
        )
    table = summary_table(city).to_string(index=False, formatters={"area_km2": "{:.2f}".format})
    lines += ["", table, "", f"Data: {city.attribution}"]
    lines += [f"Note: {note}" for note in city.notes]
    return "\n".join(lines)
