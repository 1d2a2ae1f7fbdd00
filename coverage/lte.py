"""4G (LTE) macro sectors read from an ANFR antenna extract, with a three-sector pattern.

ANFR publishes its radio sites ("Données sur les installations radioélectriques de plus de
5 watts", data.gouv.fr / data.anfr.fr) as ``;``-separated tables keyed by the station number.
:func:`read_anfr_sites` reads one table with one row per emitter and antenna, i.e. the
published ``SUP_SUPPORT``, ``SUP_ANTENNE`` and ``SUP_EMETTEUR`` joined on ``STA_NM_ANFR``.
Columns used (others are ignored):

========================  =========================================================
``STA_NM_ANFR``           station number (the site id)
``EMR_LB_SYSTEME``        system, e.g. ``LTE 800``; rows of other systems are skipped
``AER_NB_AZIMUT``         antenna azimuth (degrees from north, clockwise)
``AER_NB_ALT_BAS``        height of the antenna's base above ground (m)
``COR_NB_DG_LAT``, ``COR_NB_MN_LAT``, ``COR_NB_SC_LAT``, ``COR_CD_NS_LAT``,
``COR_NB_DG_LON``, ``COR_NB_MN_LON``, ``COR_NB_SC_LON``, ``COR_CD_EW_LON``
                          support position in degrees/minutes/seconds + N/S, E/W (WGS84)
``ADM_LB_NOM``            operator (optional; sectors of different operators do not interfere)
``EIRP_DBM``              not ANFR: optional per-row EIRP when the operator disclosed it
========================  =========================================================

ANFR does not publish transmit powers, tilts or antenna gains: the defaults below are
assumptions, stated as such in every output. No ANFR extract for Biarritz is available
offline; villenum never ships invented sites as if they were real.

References
----------
.. [TR36814] 3GPP TR 36.814 V9.2.0, Table A.2.1.1-2 (three-sector antenna pattern).
.. [TS36104] 3GPP TS 36.104, Table 7.2.1-1 (wide-area BS reference sensitivity −101.5 dBm).
.. [TR36942] 3GPP TR 36.942 §4.2.1 (three-sector macro antenna gain 15 dBi) and Table 4.3
   (UE noise figure 9 dB).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from villenum.coverage.radio import Client
from villenum.errors import CoverageError

# Downlink centre frequency (MHz) and a typical carrier width (MHz) of the French LTE bands.
LTE_BANDS: dict[str, tuple[float, float]] = {
    "LTE 700": (773.0, 10.0),  # band 28, 758–788 MHz
    "LTE 800": (806.0, 10.0),  # band 20, 791–821 MHz
    "LTE 1800": (1842.5, 20.0),  # band 3, 1805–1880 MHz
    "LTE 2100": (2140.0, 15.0),  # band 1, 2110–2170 MHz
    "LTE 2600": (2655.0, 20.0),  # band 7, 2620–2690 MHz
}
ASSUMED_EIRP_DBM = 61.0  # 40 W carrier + 15 dBi − 2 dB feeder: an assumption, not ANFR data
ASSUMED_TILT_DEG = 6.0
BS_SENSITIVITY_DBM = -101.5
UE_NOISE_FIGURE_DB = 9.0
_SUBCARRIER_HZ = 15_000.0

_DMS = (
    "COR_NB_DG_LAT",
    "COR_NB_MN_LAT",
    "COR_NB_SC_LAT",
    "COR_CD_NS_LAT",
    "COR_NB_DG_LON",
    "COR_NB_MN_LON",
    "COR_NB_SC_LON",
    "COR_CD_EW_LON",
)
REQUIRED_COLUMNS = ("STA_NM_ANFR", "EMR_LB_SYSTEME", "AER_NB_AZIMUT", "AER_NB_ALT_BAS", *_DMS)


@dataclass(frozen=True)
class LteSector:
    """One LTE sector antenna of a macro site.

    Attributes
    ----------
    x, y
        Position (m, EPSG:2154).
    height_m
        Antenna height above ground (m).
    azimuth_deg
        Boresight azimuth (degrees clockwise from north).
    system
        ANFR system label, one of :data:`LTE_BANDS`.
    site_id
        ANFR station number.
    operator
        Operator name.
    eirp_dbm
        Total EIRP of the carrier at boresight (dBm); default :data:`ASSUMED_EIRP_DBM`.
    antenna_gain_dbi
        Boresight gain (dBi), used on receive for the uplink.
    tilt_deg
        Downtilt (degrees below horizontal).
    """

    x: float
    y: float
    height_m: float
    azimuth_deg: float
    system: str = "LTE 800"
    site_id: str = ""
    operator: str = ""
    eirp_dbm: float = ASSUMED_EIRP_DBM
    antenna_gain_dbi: float = 15.0
    tilt_deg: float = ASSUMED_TILT_DEG

    def __post_init__(self) -> None:
        if self.system not in LTE_BANDS:
            raise CoverageError(
                f"sector {self.site_id}: unknown LTE system {self.system!r} "
                f"(known: {', '.join(LTE_BANDS)})"
            )
        if not 1.0 < self.height_m <= 300.0:
            raise CoverageError(f"sector {self.site_id}: height {self.height_m} m is not 1–300 m")

    @property
    def frequency_mhz(self) -> float:
        """Downlink centre frequency (MHz)."""
        return LTE_BANDS[self.system][0]

    @property
    def bandwidth_mhz(self) -> float:
        """Carrier width (MHz)."""
        return LTE_BANDS[self.system][1]

    @property
    def effective_eirp_dbm(self) -> float:
        """EIRP per resource element (dBm): the reference for RSRP.

        The carrier's power is spread over 12 subcarriers × 5 resource blocks per MHz.
        """
        return self.eirp_dbm - 10.0 * math.log10(12 * 5 * self.bandwidth_mhz)

    @property
    def channel_key(self) -> tuple[str, int]:
        """Sectors of the same operator and band interfere (frequency reuse 1)."""
        return (self.operator, int(self.frequency_mhz))

    @property
    def noise_floor_dbm(self) -> float:
        """UE noise per 15 kHz resource element (dBm), the RSRP's noise reference."""
        return -174.0 + 10.0 * math.log10(_SUBCARRIER_HZ) + UE_NOISE_FIGURE_DB

    def uplink_offset_db(self, client: Client) -> float:
        """Uplink margin minus RSRP on the same path (dB), sensitivity of TS 36.104."""
        return (
            client.eirp_dbm
            + self.antenna_gain_dbi
            - BS_SENSITIVITY_DBM
            - self.effective_eirp_dbm
            - client.antenna_gain_dbi
        )

    def relative_gain_db(
        self, azimuth_deg: npt.NDArray[np.float64], elevation_deg: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """Three-sector pattern of TR 36.814 relative to boresight (dB, ≤ 0).

        ``A_H = −min(12 (φ/70°)², 25)``, ``A_V = −min(12 ((θ − θ_tilt)/10°)², 20)``,
        ``A = −min(−(A_H + A_V), 25)``, with φ the bearing off boresight and θ the angle
        below horizontal.
        """
        phi = (np.asarray(azimuth_deg) - self.azimuth_deg + 180.0) % 360.0 - 180.0
        a_h = -np.minimum(12.0 * (phi / 70.0) ** 2, 25.0)
        a_v = -np.minimum(12.0 * ((np.asarray(elevation_deg) - self.tilt_deg) / 10.0) ** 2, 20.0)
        return -np.minimum(-(a_h + a_v), 25.0)


def read_anfr_sites(path: str | Path, crs: str = "EPSG:2154") -> list[LteSector]:
    """Read the LTE sectors of an ANFR antenna extract (see the module docstring).

    Parameters
    ----------
    path
        CSV file (``;`` or ``,`` separated, UTF-8 or Latin-1 as ANFR publishes).
    crs
        Target projected CRS.

    Returns
    -------
    list of LteSector
        One per LTE row (emitter × antenna), in file order.

    Raises
    ------
    CoverageError
        For a missing file, missing columns, a malformed value (row and column named), or an
        extract without any LTE row.
    """
    import pandas as pd
    from pyproj import Transformer

    path = Path(path)
    if not path.is_file():
        raise CoverageError(f"ANFR sites file not found: {path}")
    table = None
    for encoding in ("utf-8", "latin-1"):
        try:
            table = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
            raise CoverageError(f"{path} is not a readable CSV file: {exc}") from None
    if table is None:
        raise CoverageError(f"{path} is neither UTF-8 nor Latin-1 text")
    table.columns = [c.strip().upper() for c in table.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise CoverageError(f"{path} lacks the ANFR column(s) {', '.join(missing)}")
    systems = table["EMR_LB_SYSTEME"].fillna("").str.strip().str.upper()
    lte = table[systems.isin(LTE_BANDS)]
    if lte.empty:
        found = ", ".join(sorted(set(systems) - {""})) or "none"
        raise CoverageError(f"{path} has no LTE rows (systems found: {found})")
    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    sectors = []
    for line, row in lte.iterrows():
        where = f"{path} row {int(line) + 2}"  # + header, 1-based
        lat = _dms(row, "LAT", "NS", where)
        lon = _dms(row, "LON", "EW", where)
        x, y = to_crs.transform(lon, lat)
        eirp = row.get("EIRP_DBM")
        sectors.append(
            LteSector(
                x=x,
                y=y,
                height_m=_float(row["AER_NB_ALT_BAS"], where, "AER_NB_ALT_BAS"),
                azimuth_deg=_float(row["AER_NB_AZIMUT"], where, "AER_NB_AZIMUT") % 360.0,
                system=str(row["EMR_LB_SYSTEME"]).strip().upper(),
                site_id=str(row["STA_NM_ANFR"]).strip(),
                operator=str(row.get("ADM_LB_NOM") or "").strip(),
                eirp_dbm=(
                    ASSUMED_EIRP_DBM
                    if eirp is None or pd.isna(eirp)
                    else _float(eirp, where, "EIRP_DBM")
                ),
            )
        )
    return sectors


def _float(value: object, where: str, column: str) -> float:
    try:
        number = float(str(value).replace(",", ".").strip())
    except ValueError:
        raise CoverageError(f"{where}: {column} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise CoverageError(f"{where}: {column} must be a number, got {value!r}")
    return number


def _dms(row: object, axis: str, hemispheres: str, where: str) -> float:
    get = row.__getitem__  # type: ignore[attr-defined]
    deg = _float(get(f"COR_NB_DG_{axis}"), where, f"COR_NB_DG_{axis}")
    minutes = _float(get(f"COR_NB_MN_{axis}"), where, f"COR_NB_MN_{axis}")
    seconds = _float(get(f"COR_NB_SC_{axis}"), where, f"COR_NB_SC_{axis}")
    column = f"COR_CD_{hemispheres}_{axis}"
    sign = str(get(column)).strip().upper()
    if sign not in tuple(hemispheres):
        raise CoverageError(f"{where}: {column} must be {' or '.join(hemispheres)}, got {sign!r}")
    value = deg + minutes / 60.0 + seconds / 3600.0
    return -value if sign in ("S", "W") else value
