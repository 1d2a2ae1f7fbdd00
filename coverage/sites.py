"""Reading Wi-Fi access-point sites from GeoJSON (RFC 7946, WGS84 longitude/latitude).

Each Point feature is one access point. Optional properties: ``id``, ``height_m`` (antenna
height above ground, default 6 m: a lamp post), ``band`` (``"2.4"`` or ``"5"``),
``eirp_dbm`` (default the legal maximum of the band), ``channel`` and ``channel_width_mhz``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from villenum.coverage.radio import Transmitter
from villenum.errors import CoverageError

DEFAULT_HEIGHT_M = 6.0
_WGS84_NAMES = ("urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "EPSG:4326")


def read_wifi_sites(path: str | Path, band: str = "5", crs: str = "EPSG:2154") -> list[Transmitter]:
    """Read access points from a GeoJSON file and project them to ``crs``.

    Parameters
    ----------
    path
        GeoJSON FeatureCollection of Point features in WGS84.
    band
        Band of the sites whose ``band`` property is absent (``"2.4"`` or ``"5"``).
    crs
        Target projected CRS (the city's).

    Returns
    -------
    list of Transmitter
        In file order; ``site_id`` is the ``id`` property or ``site-<n>``.

    Raises
    ------
    CoverageError
        For a missing or malformed file, a non-WGS84 CRS, non-Point geometry, an empty site
        list, duplicate ids or a bad property (the message names the feature).
    RegulationError
        For a site above the French limits of its band.
    """
    from pyproj import Transformer

    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CoverageError(f"sites file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CoverageError(f"{path} is not readable GeoJSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise CoverageError(f"{path} must be a GeoJSON FeatureCollection of Point features")
    crs_name = (doc.get("crs") or {}).get("properties", {}).get("name")
    if crs_name and not any(crs_name.upper().endswith(n.split(":")[-1]) for n in _WGS84_NAMES):
        raise CoverageError(
            f"{path} declares CRS {crs_name}; GeoJSON sites must be WGS84 longitude/latitude "
            "(RFC 7946)"
        )
    features = doc.get("features") or []
    if not features:
        raise CoverageError(f"{path} has no sites: its feature list is empty")
    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    sites: list[Transmitter] = []
    seen: set[str] = set()
    for n, feature in enumerate(features, start=1):
        props = (feature or {}).get("properties") or {}
        site_id = str(props.get("id", f"site-{n}"))
        where = f"{path} feature {n} ({site_id})"
        if site_id in seen:
            raise CoverageError(f"{where}: duplicate id {site_id!r}")
        seen.add(site_id)
        geom = (feature or {}).get("geometry") or {}
        coords = geom.get("coordinates")
        if geom.get("type") != "Point" or not isinstance(coords, list) or len(coords) < 2:
            raise CoverageError(f"{where}: geometry must be a GeoJSON Point")
        lon, lat = _number(coords[0], where, "longitude"), _number(coords[1], where, "latitude")
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise CoverageError(
                f"{where}: coordinates ({lon:g}, {lat:g}) are not WGS84 longitude/latitude "
                "(projected coordinates are not allowed in GeoJSON, RFC 7946)"
            )
        x, y = to_crs.transform(lon, lat)
        kwargs: dict[str, Any] = {
            "band": str(props.get("band", band)),
            "height_m": _number(props.get("height_m", DEFAULT_HEIGHT_M), where, "height_m"),
            "site_id": site_id,
        }
        if props.get("eirp_dbm") is not None:
            kwargs["eirp_dbm"] = _number(props["eirp_dbm"], where, "eirp_dbm")
        for key in ("channel", "channel_width_mhz"):
            if props.get(key) is not None:
                kwargs[key] = int(_number(props[key], where, key))
        try:
            sites.append(Transmitter(x, y, **kwargs))
        except CoverageError as exc:
            raise type(exc)(f"{path}: {exc}") from None
    return sites


def _number(value: Any, where: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CoverageError(f"{where}: {field} must be a number, got {value!r}")
    return float(value)


def transmitters_at(
    points: Any,
    band: str = "5",
    height_m: float = DEFAULT_HEIGHT_M,
    id_column: str | None = None,
    **kwargs: Any,
) -> list[Transmitter]:
    """Access points at the given points (e.g. a planner's candidate positions).

    Parameters
    ----------
    points
        GeoDataFrame of Points in a projected CRS (the city's, EPSG:2154).
    band
        ``"2.4"`` or ``"5"``.
    height_m
        Antenna height above ground (m) for every site.
    id_column
        Column holding the site ids; default ``cand-<row position>``.
    **kwargs
        Further :class:`Transmitter` fields (``eirp_dbm``, ``channel`` ...).

    Returns
    -------
    list of Transmitter
        In row order (the planner's column order in ``sparse_coverage``).

    Raises
    ------
    CoverageError
        If the points are unprojected or not Points.
    """
    if points.crs is None or not points.crs.is_projected:
        raise CoverageError(f"candidate points must be in a projected CRS, not {points.crs}")
    if len(points) and not (points.geom_type == "Point").all():
        raise CoverageError("candidate positions must be Point geometries")
    ids = points[id_column].astype(str) if id_column else [f"cand-{i}" for i in range(len(points))]
    return [
        Transmitter(float(x), float(y), band=band, height_m=height_m, site_id=site_id, **kwargs)
        for x, y, site_id in zip(points.geometry.x, points.geometry.y, ids, strict=True)
    ]
