"""Wi-Fi link budget: transmitters, clients, French regulatory limits, 802.11 MCS and rates.

A cell is covered only when both directions close: the access point's downlink reaches the
phone above the wanted level *and* the phone's uplink (about 15 dBm EIRP) reaches the access
point above its sensitivity. Because the path loss is reciprocal, the uplink margin is the
downlink received power plus a per-transmitter constant (:meth:`Transmitter.uplink_offset_db`).

References
----------
.. [ERC7003] CEPT ERC Recommendation 70-03, Annex 3 (wideband data transmission systems), as
   applied in France by ANFR's national frequency allocation table: 2400–2483.5 MHz 100 mW EIRP;
   5150–5350 MHz 200 mW EIRP indoor only (5250–5350 MHz with DFS/TPC); 5470–5725 MHz 1 W EIRP
   with DFS and TPC, indoor and outdoor.
.. [EN301893] ETSI EN 301 893 V2.1.1 (2017-05), 5 GHz RLAN harmonised standard (DFS).
.. [80211] IEEE Std 802.11-2020 §21.3.18.1 (VHT receiver minimum input sensitivity, MCS 0-9)
   and IEEE Std 802.11ax-2021 §27.3.19.2 (HE, MCS 10-11); HE-SU data rates from N_SD data
   subcarriers and a 13.6 µs symbol (0.8 µs guard interval).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from villenum.errors import CoverageError, RegulationError

BANDS = ("2.4", "5")
CHANNEL_WIDTHS_MHZ = (20, 40, 80, 160)

# Minimum input sensitivity for a 20 MHz channel, MCS 0..11 (dBm); +3 dB per doubling of width.
MCS_SENSITIVITY_20MHZ_DBM = np.array(
    [-82, -79, -77, -74, -70, -66, -65, -64, -59, -57, -54, -52], dtype=np.float64
)
# Coded bits per subcarrier × code rate for MCS 0..11 (BPSK 1/2 ... 1024-QAM 5/6).
_MCS_BITS_PER_SUBCARRIER = np.array(
    [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 4.5, 5.0, 6.0, 20 / 3, 7.5, 25 / 3], dtype=np.float64
)
# HE data subcarriers per channel width and HE symbol duration with a 0.8 µs guard interval.
_HE_DATA_SUBCARRIERS = {20: 234, 40: 468, 80: 980, 160: 1960}
_HE_SYMBOL_US = 13.6
# Noise figure the sensitivity table assumes (IEEE 802.11: 10 dB NF plus 5 dB implementation
# margin, the latter already inside the sensitivity figures).
RECEIVER_NOISE_FIGURE_DB = 10.0

# French limits (ERC 70-03 Annex 3): sub-band edges (MHz), max EIRP (dBm), indoor only, DFS.
_SUB_BANDS = (
    (2400.0, 2483.5, 20.0, False, False),
    (5150.0, 5250.0, 23.0, True, False),
    (5250.0, 5350.0, 23.0, True, True),
    (5470.0, 5725.0, 30.0, False, True),
)
DEFAULT_CHANNEL = {"2.4": 6, "5": 100}
MAX_EIRP_DBM = {"2.4": 20.0, "5": 30.0}


def channel_centre_mhz(band: str, channel: int) -> float:
    """Centre frequency of an 802.11 channel number (MHz).

    Parameters
    ----------
    band
        ``"2.4"`` or ``"5"``.
    channel
        Channel number of the channel's centre (e.g. 106 for the 80 MHz channel 100–112).

    Returns
    -------
    float
        Centre frequency (MHz): ``2407 + 5 n`` (channels 1–13) or ``5000 + 5 n``.

    Raises
    ------
    CoverageError
        For an unknown band or a channel number that does not exist in it.
    """
    if band == "2.4":
        if not 1 <= channel <= 13:
            raise CoverageError(f"2.4 GHz channel {channel} does not exist in France (1–13)")
        return 2407.0 + 5.0 * channel
    if band == "5":
        if not 32 <= channel <= 177:
            raise CoverageError(f"5 GHz channel {channel} does not exist (32–177)")
        return 5000.0 + 5.0 * channel
    raise CoverageError(f"band must be one of {', '.join(BANDS)}, not {band!r}")


@dataclass(frozen=True)
class Client:
    """The terminal at each grid cell: a phone 1.5 m above ground.

    Attributes
    ----------
    eirp_dbm
        Uplink EIRP (dBm); phones transmit about 15 dBm on Wi-Fi, the usual limiting link.
    height_m
        Antenna height above ground (m).
    antenna_gain_dbi
        Receive antenna gain (dBi).
    """

    eirp_dbm: float = 15.0
    height_m: float = 1.5
    antenna_gain_dbi: float = 0.0


@dataclass(frozen=True)
class Transmitter:
    """An outdoor Wi-Fi access point, checked against the French limits when created.

    Attributes
    ----------
    x, y
        Position in EPSG:2154 (m).
    band
        ``"2.4"`` or ``"5"``.
    channel
        Centre channel number; default 6 (2.4 GHz) or 100 (5 GHz, 5500 MHz, outdoor DFS band).
    channel_width_mhz
        20, 40, 80 or 160 (2.4 GHz: 20 or 40).
    eirp_dbm
        Downlink EIRP (dBm); default the legal maximum of the band (20 or 30 dBm).
    height_m
        Antenna height above ground (m).
    antenna_gain_dbi
        Antenna gain used on receive for the uplink (dBi).
    sensitivity_dbm
        Access-point receive sensitivity for the uplink (dBm); default the 802.11 minimum for
        MCS 0 at the channel width (−82 dBm at 20 MHz), a conservative figure.
    indoor
        True for an indoor installation (only indoor APs may use 5150–5350 MHz).
    dfs
        Dynamic frequency selection and transmit power control enabled (required above 5250 MHz).
    site_id
        Identifier shown in outputs and error messages.

    Raises
    ------
    RegulationError
        If the transmitter exceeds the French limits of its band.
    CoverageError
        For an unknown band, channel or width.
    """

    x: float
    y: float
    band: str = "5"
    channel: int | None = None
    channel_width_mhz: int = 20
    eirp_dbm: float | None = None
    height_m: float = 6.0
    antenna_gain_dbi: float = 5.0
    sensitivity_dbm: float | None = None
    indoor: bool = False
    dfs: bool = True
    site_id: str = ""
    _resolved: dict[str, float] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        name = self.site_id or f"({self.x:.0f}, {self.y:.0f})"
        if self.band not in BANDS:
            raise CoverageError(f"site {name}: band must be '2.4' or '5', not {self.band!r}")
        widths = (20, 40) if self.band == "2.4" else CHANNEL_WIDTHS_MHZ
        if self.channel_width_mhz not in widths:
            raise CoverageError(
                f"site {name}: channel_width_mhz {self.channel_width_mhz} is not one of "
                f"{widths} in the {self.band} GHz band"
            )
        if not np.isfinite(self.height_m) or not 0.5 <= self.height_m <= 200:
            raise CoverageError(f"site {name}: height_m {self.height_m} is not in 0.5–200 m")
        channel = self.channel if self.channel is not None else DEFAULT_CHANNEL[self.band]
        eirp = self.eirp_dbm if self.eirp_dbm is not None else MAX_EIRP_DBM[self.band]
        centre = channel_centre_mhz(self.band, channel)
        check_regulation(
            name, centre, self.channel_width_mhz, eirp, indoor=self.indoor, dfs=self.dfs
        )
        sens = self.sensitivity_dbm
        if sens is None:
            sens = float(mcs_sensitivity_dbm(self.channel_width_mhz)[0])
        self._resolved.update(channel=channel, eirp=eirp, frequency=centre, sensitivity=sens)

    @property
    def frequency_mhz(self) -> float:
        """Centre frequency (MHz)."""
        return self._resolved["frequency"]

    @property
    def effective_eirp_dbm(self) -> float:
        """The EIRP in use (the given one or the band's legal maximum), dBm."""
        return self._resolved["eirp"]

    @property
    def effective_channel(self) -> int:
        """The channel in use."""
        return int(self._resolved["channel"])

    @property
    def effective_sensitivity_dbm(self) -> float:
        """The access point's uplink sensitivity in use (dBm)."""
        return self._resolved["sensitivity"]

    @property
    def channel_key(self) -> tuple[str, int]:
        """Transmitters sharing this key interfere with each other (co-channel)."""
        return (self.band, self.effective_channel)

    def uplink_offset_db(self, client: Client) -> float:
        """Uplink margin minus downlink received power, for the same path (dB).

        ``margin_UL = (P_client + G_AP − L) − S_AP`` and ``P_DL = EIRP_AP + G_client − L`` give
        ``margin_UL = P_DL + P_client + G_AP − S_AP − EIRP_AP − G_client``.
        """
        return (
            client.eirp_dbm
            + self.antenna_gain_dbi
            - self.effective_sensitivity_dbm
            - self.effective_eirp_dbm
            - client.antenna_gain_dbi
        )

    @property
    def noise_floor_dbm(self) -> float:
        """Receiver noise over the channel (dBm), for the SINR."""
        return noise_floor_dbm(self.channel_width_mhz)

    def relative_gain_db(
        self, azimuth_deg: npt.NDArray[np.float64], elevation_deg: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """Antenna gain relative to the EIRP direction: omnidirectional, so 0 dB."""
        return np.zeros(np.shape(azimuth_deg))


def check_regulation(
    name: str,
    centre_mhz: float,
    channel_width_mhz: float,
    eirp_dbm: float,
    *,
    indoor: bool,
    dfs: bool,
) -> None:
    """Refuse a Wi-Fi channel and power that the French rules do not allow.

    Parameters
    ----------
    name
        Site name for the message.
    centre_mhz
        Channel centre frequency (MHz).
    channel_width_mhz
        Occupied channel width (MHz); the whole channel must lie inside one sub-band.
    eirp_dbm
        Transmitted EIRP (dBm).
    indoor
        Indoor installation.
    dfs
        DFS/TPC enabled.

    Raises
    ------
    RegulationError
        Outside the 2.4/5 GHz RLAN sub-bands, above the sub-band's EIRP limit, outdoors in
        5150–5350 MHz, or without DFS where DFS is mandatory.

    References
    ----------
    ERC/REC 70-03 Annex 3 [ERC7003]_, ETSI EN 301 893 [EN301893]_.
    """
    low, high = centre_mhz - channel_width_mhz / 2, centre_mhz + channel_width_mhz / 2
    for band_low, band_high, max_eirp, indoor_only, needs_dfs in _SUB_BANDS:
        if low >= band_low and high <= band_high:
            if indoor_only and not indoor:
                raise RegulationError(
                    f"site {name}: {band_low:.0f}–{band_high:.0f} MHz is for indoor use only in "
                    f"France; outdoor 5 GHz access points must use 5470–5725 MHz (channels 100–140)"
                )
            if needs_dfs and not dfs:
                raise RegulationError(
                    f"site {name}: {band_low:.0f}–{band_high:.0f} MHz requires DFS/TPC (dfs=True)"
                )
            if eirp_dbm > max_eirp + 1e-9:
                raise RegulationError(
                    f"site {name}: EIRP {eirp_dbm:g} dBm exceeds the French limit of "
                    f"{max_eirp:g} dBm in {band_low:.0f}–{band_high:.0f} MHz"
                )
            return
    raise RegulationError(
        f"site {name}: channel {low:.0f}–{high:.0f} MHz is not inside a French Wi-Fi sub-band "
        "(2400–2483.5, 5150–5350 indoor, 5470–5725 MHz)"
    )


def mcs_sensitivity_dbm(channel_width_mhz: int) -> npt.NDArray[np.float64]:
    """802.11 minimum input sensitivity of MCS 0–11 for a channel width (dBm).

    Parameters
    ----------
    channel_width_mhz
        20, 40, 80 or 160.

    Returns
    -------
    ndarray
        Twelve sensitivities, −82 … −52 dBm at 20 MHz, 3 dB higher per doubling of width.

    Raises
    ------
    CoverageError
        For another width.

    References
    ----------
    IEEE 802.11 receiver minimum input sensitivity tables [80211]_.
    """
    if channel_width_mhz not in CHANNEL_WIDTHS_MHZ:
        raise CoverageError(f"channel width {channel_width_mhz} MHz is not 20, 40, 80 or 160")
    doublings = int(np.log2(channel_width_mhz / 20))
    return MCS_SENSITIVITY_20MHZ_DBM + 3.0 * doublings


def noise_floor_dbm(
    channel_width_mhz: float, noise_figure_db: float = RECEIVER_NOISE_FIGURE_DB
) -> float:
    """Thermal noise plus receiver noise figure over the channel: −174 + 10 log10(B) + NF."""
    return -174.0 + 10.0 * np.log10(channel_width_mhz * 1e6) + noise_figure_db


def required_sinr_db(channel_width_mhz: int) -> npt.NDArray[np.float64]:
    """SINR each MCS needs, as implied by the sensitivity table over the noise floor (dB).

    With the 10 dB noise figure of the standard's derivation, MCS 0 needs about 9 dB and
    MCS 11 about 39 dB (implementation margin included).
    """
    return mcs_sensitivity_dbm(channel_width_mhz) - noise_floor_dbm(channel_width_mhz)


def achievable_mcs(
    rx_dbm: npt.ArrayLike,
    channel_width_mhz: int,
    sinr_db: npt.ArrayLike | None = None,
) -> npt.NDArray[np.int8]:
    """Highest MCS whose sensitivity (and SINR requirement) the received signal meets.

    Parameters
    ----------
    rx_dbm
        Received power (dBm); NaN means no signal.
    channel_width_mhz
        Channel width (MHz).
    sinr_db
        Signal to interference-plus-noise ratio (dB); when given the MCS must also meet
        :func:`required_sinr_db`.

    Returns
    -------
    ndarray of int8
        MCS 0–11, or −1 where not even MCS 0 decodes.
    """
    rx = np.asarray(rx_dbm, dtype=np.float64)
    sens = mcs_sensitivity_dbm(channel_width_mhz)
    mcs = np.searchsorted(sens, np.nan_to_num(rx, nan=-np.inf), side="right") - 1
    if sinr_db is not None:
        sinr = np.nan_to_num(np.asarray(sinr_db, dtype=np.float64), nan=-np.inf)
        by_sinr = np.searchsorted(required_sinr_db(channel_width_mhz), sinr, side="right") - 1
        mcs = np.minimum(mcs, by_sinr)
    return mcs.astype(np.int8)


def data_rate_mbps(
    mcs: npt.ArrayLike, channel_width_mhz: int, spatial_streams: int = 1
) -> npt.NDArray[np.float64]:
    """802.11ax (HE-SU, 0.8 µs GI) PHY data rate of an MCS (Mbit/s); 0 for MCS −1.

    ``rate = N_SS × N_SD × bits_per_subcarrier / 13.6 µs``; e.g. MCS 0 at 20 MHz: 8.6 Mbit/s,
    MCS 11 at 80 MHz: 600.5 Mbit/s per stream.

    Parameters
    ----------
    mcs
        MCS index (−1 … 11).
    channel_width_mhz
        Channel width (MHz).
    spatial_streams
        Number of spatial streams.

    Returns
    -------
    ndarray
        Data rate (Mbit/s).

    References
    ----------
    IEEE Std 802.11ax-2021 HE-MCS rate tables [80211]_.
    """
    if channel_width_mhz not in _HE_DATA_SUBCARRIERS:
        raise CoverageError(f"channel width {channel_width_mhz} MHz is not 20, 40, 80 or 160")
    index = np.asarray(mcs, dtype=np.int64)
    bits = np.where(index >= 0, _MCS_BITS_PER_SUBCARRIER[np.clip(index, 0, 11)], 0.0)
    return spatial_streams * _HE_DATA_SUBCARRIERS[channel_width_mhz] * bits / _HE_SYMBOL_US
