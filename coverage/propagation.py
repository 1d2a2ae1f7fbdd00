"""Median basic transmission loss of published propagation models (pure, vectorised).

Every function takes scalars or arrays (broadcast together, units in the parameter names) and
returns the median basic transmission loss in dB as a float or a ``float64`` array. Outside a
model's published validity range a function raises :class:`ValueError`; with ``strict=False`` it
computes anyway and emits one :class:`~villenum.errors.ValidityWarning` instead.

References
----------
.. [P1411] ITU-R P.1411-12 (08/2023), "Propagation data and prediction methods for the planning
   of short-range outdoor radiocommunication systems and radio local area networks in the
   frequency range 300 MHz to 100 GHz", Annex 1 §4.1.
.. [TR38901] 3GPP TR 38.901 V17.0.0 (2022-03), "Study on channel model for frequencies from 0.5
   to 100 GHz", §7.4.
.. [Hata] M. Hata, "Empirical formula for propagation loss in land mobile radio services",
   IEEE Trans. Veh. Technol. 29(3), 1980, pp. 317-325.
.. [COST231] COST Action 231, "Digital mobile radio towards future generation systems",
   final report, EUR 18957, 1999, §4.4.1.
.. [P525] ITU-R P.525-4 (08/2019), "Calculation of free-space attenuation", eq. (6).
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import numpy.typing as npt

from villenum.errors import ValidityWarning

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | npt.ArrayLike

SPEED_OF_LIGHT_M_S = 299_792_458.0

# ITU-R P.1411-12 Table 4: (alpha, beta, gamma, sigma, f_min GHz, f_max GHz, d_min m, d_max m).
# The LoS row is shared by urban high-rise and urban low-rise/suburban; residential has no LoS row.
_P1411_TABLE4: dict[tuple[str, bool], tuple[float, ...]] = {
    ("urban_high_rise", True): (2.12, 29.2, 2.11, 5.06, 0.8, 82.0, 5.0, 660.0),
    ("urban_low_rise", True): (2.12, 29.2, 2.11, 5.06, 0.8, 82.0, 5.0, 660.0),
    ("urban_high_rise", False): (4.00, 10.2, 2.36, 7.60, 0.8, 82.0, 30.0, 715.0),
    ("urban_low_rise", False): (5.06, -4.68, 2.02, 9.33, 10.0, 73.0, 30.0, 250.0),
    ("residential", False): (3.01, 18.8, 2.07, 3.07, 0.8, 73.0, 30.0, 170.0),
}
P1411_ENVIRONMENTS = ("urban_high_rise", "urban_low_rise", "residential")
HATA_ENVIRONMENTS = ("urban_small", "urban_large", "suburban", "open")


def _arr(value: ArrayLike) -> FloatArray:
    return np.asarray(value, dtype=np.float64)


def _out(value: FloatArray) -> FloatArray:
    """Return a Python float for 0-d results so scalar calls give scalars."""
    return value[()] if value.ndim == 0 else value


def _check_range(
    value: FloatArray, low: float, high: float, what: str, model: str, strict: bool
) -> None:
    """Raise (or warn) when any finite ``value`` lies outside ``[low, high]``."""
    bad = np.isfinite(value) & ((value < low) | (value > high))
    if not np.any(bad):
        return
    worst = value[bad].flat[0]
    message = (
        f"{model}: {what} = {worst:g} is outside the model's validity range "
        f"{low:g}–{high:g} ({int(np.count_nonzero(bad))} value(s))"
    )
    if strict:
        raise ValueError(message)
    warnings.warn(message, ValidityWarning, stacklevel=3)


def _check_choice(value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(choices)}, not {value!r}")


def free_space_loss(distance_m: ArrayLike, frequency_mhz: ArrayLike) -> FloatArray:
    """Free-space basic transmission loss between isotropic antennas.

    ``L_bf = 32.44 + 20 log10(f_MHz) + 20 log10(d_km)``.

    Parameters
    ----------
    distance_m
        Path length (m), > 0.
    frequency_mhz
        Frequency (MHz), > 0.

    Returns
    -------
    float or ndarray
        Loss in dB.

    Raises
    ------
    ValueError
        If a distance or frequency is not positive (the formula has no meaning there).

    References
    ----------
    ITU-R P.525-4 eq. (6) [P525]_.
    """
    d = _arr(distance_m)
    f = _arr(frequency_mhz)
    if np.any(d <= 0) or np.any(f <= 0):
        raise ValueError("free_space_loss needs distance_m > 0 and frequency_mhz > 0")
    return _out(32.4478 + 20.0 * np.log10(f) + 20.0 * np.log10(d / 1000.0))


def p1411_site_general(
    distance_m: ArrayLike,
    frequency_ghz: ArrayLike,
    los: bool | npt.ArrayLike,
    environment: str,
    *,
    strict: bool = True,
) -> FloatArray:
    """ITU-R P.1411 site-general model below rooftops (both stations below roof level).

    ``L = 10 α log10(d) + β + 10 γ log10(f)`` with the coefficients of Table 4:

    ================================  ====  =====  =====  =====  ===========  =========
    environment, path                 α     β      γ      σ      f (GHz)      d (m)
    ================================  ====  =====  =====  =====  ===========  =========
    urban high/low-rise, LoS          2.12  29.2   2.11   5.06   0.8–82       5–660
    urban high-rise, NLoS             4.00  10.2   2.36   7.60   0.8–82       30–715
    urban low-rise/suburban, NLoS     5.06  -4.68  2.02   9.33   10–73        30–250
    residential, NLoS                 3.01  18.8   2.07   3.07   0.8–73       30–170
    ================================  ====  =====  =====  =====  ===========  =========

    Each row is checked against its own frequency and distance range.

    Parameters
    ----------
    distance_m
        3-D direct distance between the stations (m).
    frequency_ghz
        Frequency (GHz).
    los
        True for line-of-sight paths (scalar or boolean array broadcast with the distances).
    environment
        ``"urban_high_rise"``, ``"urban_low_rise"`` (low-rise or suburban) or ``"residential"``.
    strict
        Raise outside a row's validity range (default); ``False`` warns instead.

    Returns
    -------
    float or ndarray
        Median basic transmission loss (dB).

    Raises
    ------
    ValueError
        For an unknown environment, a value outside the row's range (``strict``), or a
        residential LoS path, which Table 4 does not cover (``strict``; otherwise the urban LoS
        row is used with a warning).

    References
    ----------
    ITU-R P.1411-12 Annex 1 §4.1.1, eq. (1) and Table 4 [P1411]_.
    """
    _check_choice(environment, P1411_ENVIRONMENTS, "environment")
    d, f, is_los = np.broadcast_arrays(_arr(distance_m), _arr(frequency_ghz), np.asarray(los, bool))
    loss = np.full(d.shape, np.nan)
    for path_los in (True, False):
        mask = is_los == path_los
        if not np.any(mask):
            continue
        key = (environment, path_los)
        if key not in _P1411_TABLE4:
            message = "p1411_site_general: Table 4 has no residential LoS row"
            if strict:
                raise ValueError(message)
            warnings.warn(message + "; the urban LoS row is used", ValidityWarning, stacklevel=2)
            key = ("urban_low_rise", True)
        alpha, beta, gamma, _sigma, f_lo, f_hi, d_lo, d_hi = _P1411_TABLE4[key]
        model = f"P.1411 site-general ({environment}, {'LoS' if path_los else 'NLoS'})"
        _check_range(f[mask], f_lo, f_hi, "frequency_ghz", model, strict)
        _check_range(d[mask], d_lo, d_hi, "distance_m", model, strict)
        loss[mask] = 10 * alpha * np.log10(d[mask]) + beta + 10 * gamma * np.log10(f[mask])
    return _out(loss)


def p1411_los_street_canyon(
    distance_m: ArrayLike,
    frequency_mhz: ArrayLike,
    h1_m: ArrayLike,
    h2_m: ArrayLike,
    bound: Literal["lower", "median", "upper"] = "median",
    *,
    strict: bool = True,
) -> FloatArray:
    """ITU-R P.1411 line-of-sight street-canyon model, UHF two-slope breakpoint form.

    With λ the wavelength, ``R_bp = 4 h1 h2 / λ`` and ``L_bp = |20 log10(λ² / (8π h1 h2))|``:

    - lower bound: ``L_bp + 20 log10(d/R_bp)`` (d ≤ R_bp), ``L_bp + 40 log10(d/R_bp)`` beyond;
    - median: the lower bound + 6 dB;
    - upper bound: ``L_bp + 20 + 25 log10(d/R_bp)`` (d ≤ R_bp), ``L_bp + 20 + 40 log10(d/R_bp)``.

    Parameters
    ----------
    distance_m
        Distance between the stations along the street (m), 0 < d ≤ 1000.
    frequency_mhz
        Frequency (MHz), 300–3000 (the UHF range of the model).
    h1_m, h2_m
        Antenna heights of the two stations (m), > 0.
    bound
        ``"lower"``, ``"median"`` or ``"upper"``.
    strict
        Raise outside the validity range (default); ``False`` warns instead.

    Returns
    -------
    float or ndarray
        Basic transmission loss (dB).

    Raises
    ------
    ValueError
        For an unknown bound or a value outside the range (``strict``).

    References
    ----------
    ITU-R P.1411-12 Annex 1 §4.1.2, eqs. (2)-(5) [P1411]_.
    """
    _check_choice(bound, ("lower", "median", "upper"), "bound")
    d, f, h1, h2 = np.broadcast_arrays(
        _arr(distance_m), _arr(frequency_mhz), _arr(h1_m), _arr(h2_m)
    )
    model = "P.1411 LoS street canyon (UHF)"
    _check_range(f, 300.0, 3000.0, "frequency_mhz", model, strict)
    _check_range(d, 1e-3, 1000.0, "distance_m", model, strict)
    if np.any(h1 <= 0) or np.any(h2 <= 0):
        raise ValueError(f"{model}: antenna heights h1_m and h2_m must be > 0")
    wavelength = SPEED_OF_LIGHT_M_S / (f * 1e6)
    r_bp = 4.0 * h1 * h2 / wavelength
    l_bp = np.abs(20.0 * np.log10(wavelength**2 / (8.0 * np.pi * h1 * h2)))
    log_ratio = np.log10(d / r_bp)
    before = d <= r_bp
    if bound == "upper":
        loss = l_bp + 20.0 + np.where(before, 25.0, 40.0) * log_ratio
    else:
        loss = l_bp + np.where(before, 20.0, 40.0) * log_ratio + (6.0 if bound == "median" else 0)
    return _out(loss)


def p1411_nlos_corner(
    x1_m: ArrayLike,
    x2_m: ArrayLike,
    frequency_ghz: ArrayLike,
    w1_m: ArrayLike,
    environment: Literal["urban", "residential"],
    *,
    los_loss_db: ArrayLike | None = None,
    strict: bool = True,
) -> FloatArray:
    """ITU-R P.1411 non-line-of-sight street-corner model (SHF, 2–38 GHz).

    Station 1 is in the LoS street at ``x1`` from the crossing; station 2 in the side street at
    ``x2``. ``L = L_LoS + L_c + L_att`` where, with ``d_corner = 30 m`` and ``L_corner`` = 20 dB
    (urban) or 30 dB (residential), β = 6:

    - ``L_c = 0`` for ``x2 ≤ w1/2 + 1``,
      ``L_corner / log10(1 + d_corner) · log10(x2 − w1/2)`` in the corner region, ``L_corner``
      beyond ``w1/2 + 1 + d_corner``;
    - ``L_att = 10 β log10((x1 + x2) / (x1 + w1/2 + d_corner))`` beyond the corner region,
      else 0.

    Parameters
    ----------
    x1_m
        Distance from station 1 to the street crossing along the first street (m), > 20.
    x2_m
        Distance from the crossing to station 2 along the second street (m), ≥ 0.
    frequency_ghz
        Frequency (GHz), 2–38.
    w1_m
        Width of the first street (m), > 0.
    environment
        ``"urban"`` (wedge-shaped corners) or ``"residential"``.
    los_loss_db
        Loss in the LoS street at ``x1`` (dB), e.g. from :func:`p1411_los_street_canyon`. By
        default the free-space loss at ``x1``, the recommendation's millimetre-wave LoS form
        with exponent 2 (a documented simplification when antenna heights are unknown).
    strict
        Raise outside the validity range (default); ``False`` warns instead.

    Returns
    -------
    float or ndarray
        Basic transmission loss (dB).

    Raises
    ------
    ValueError
        For an unknown environment or a value outside the range (``strict``).

    References
    ----------
    ITU-R P.1411-12 Annex 1 §4.1.3.2, eqs. (19)-(22) [P1411]_.
    """
    _check_choice(environment, ("urban", "residential"), "environment")
    x1, x2, f, w1 = np.broadcast_arrays(_arr(x1_m), _arr(x2_m), _arr(frequency_ghz), _arr(w1_m))
    model = "P.1411 NLoS street corner"
    _check_range(f, 2.0, 38.0, "frequency_ghz", model, strict)
    _check_range(x1, 20.0, np.inf, "x1_m", model, strict)
    if np.any(x2 < 0) or np.any(w1 <= 0):
        raise ValueError(f"{model}: x2_m must be >= 0 and w1_m > 0")
    d_corner = 30.0
    l_corner = 20.0 if environment == "urban" else 30.0
    beta = 6.0
    corner_start = w1 / 2.0 + 1.0
    beyond = x2 > corner_start + d_corner
    in_corner = (x2 > corner_start) & ~beyond
    with np.errstate(divide="ignore", invalid="ignore"):
        l_c = np.where(
            beyond,
            l_corner,
            np.where(in_corner, l_corner / np.log10(1 + d_corner) * np.log10(x2 - w1 / 2.0), 0.0),
        )
        l_att = np.where(beyond, 10 * beta * np.log10((x1 + x2) / (x1 + w1 / 2.0 + d_corner)), 0.0)
    if los_loss_db is None:
        l_los = 32.4478 + 20.0 * np.log10(f * 1000.0) + 20.0 * np.log10(x1 / 1000.0)
    else:
        l_los = _arr(los_loss_db)
    return _out(l_los + l_c + l_att)


def _breakpoint_m(h_bs_m: FloatArray, h_ut_m: FloatArray, frequency_ghz: FloatArray) -> FloatArray:
    """TR 38.901 note 1: d'_BP = 4 h'_BS h'_UT f_c / c with effective heights (h_E = 1 m)."""
    return 4.0 * (h_bs_m - 1.0) * (h_ut_m - 1.0) * frequency_ghz * 1e9 / SPEED_OF_LIGHT_M_S


def _tr38901_inputs(
    distance_2d_m: ArrayLike,
    frequency_ghz: ArrayLike,
    h_bs_m: ArrayLike,
    h_ut_m: ArrayLike,
    los: bool | npt.ArrayLike,
    model: str,
    strict: bool,
) -> tuple[FloatArray, ...]:
    """Check the inputs without broadcasting them: scalars stay scalars (rasters call these
    functions with one frequency and height for thousands of distances)."""
    d2, f, hbs, hut = _arr(distance_2d_m), _arr(frequency_ghz), _arr(h_bs_m), _arr(h_ut_m)
    _check_range(f, 0.5, 100.0, "frequency_ghz", model, strict)
    _check_range(d2, 10.0, 5000.0, "distance_2d_m", model, strict)
    _check_range(hut, 1.5, 22.5, "h_ut_m", model, strict)
    if np.any(hbs <= 1.0):
        raise ValueError(f"{model}: h_bs_m must be above the 1 m effective environment height")
    log_d3 = np.log10(np.hypot(d2, hbs - hut))
    return d2, log_d3, np.log10(f), f, hbs, hut, np.asarray(los, bool)


def umi_street_canyon(
    distance_2d_m: ArrayLike,
    frequency_ghz: ArrayLike,
    h_bs_m: ArrayLike = 10.0,
    h_ut_m: ArrayLike = 1.5,
    los: bool | npt.ArrayLike = True,
    *,
    strict: bool = True,
) -> FloatArray:
    """3GPP TR 38.901 UMi – street canyon path loss (h_E = 1 m).

    LoS: ``PL1 = 32.4 + 21 log10(d3D) + 20 log10(fc)`` up to the breakpoint ``d'_BP``, then
    ``PL2 = 32.4 + 40 log10(d3D) + 20 log10(fc) − 9.5 log10(d'_BP² + (h_BS − h_UT)²)``.
    NLoS: ``max(PL_LoS, 35.3 log10(d3D) + 22.4 + 21.3 log10(fc) − 0.3 (h_UT − 1.5))``.

    Parameters
    ----------
    distance_2d_m
        Horizontal distance (m), 10–5000.
    frequency_ghz
        Carrier frequency (GHz), 0.5–100.
    h_bs_m
        Base-station (access point) antenna height (m); the scenario's nominal value is 10 m.
    h_ut_m
        User-terminal height (m), 1.5–22.5.
    los
        True for line-of-sight paths (scalar or boolean array).
    strict
        Raise outside the validity range (default); ``False`` warns instead.

    Returns
    -------
    float or ndarray
        Median path loss (dB); shadow-fading σ is 4 dB (LoS) and 7.82 dB (NLoS).

    Raises
    ------
    ValueError
        For a value outside the validity range (``strict``).

    References
    ----------
    3GPP TR 38.901 Table 7.4.1-1 [TR38901]_.
    """
    d2, log_d3, log_f, f, hbs, hut, is_los = _tr38901_inputs(
        distance_2d_m, frequency_ghz, h_bs_m, h_ut_m, los, "TR 38.901 UMi", strict
    )
    d_bp = _breakpoint_m(hbs, hut, f)
    pl1 = 32.4 + 21.0 * log_d3 + 20.0 * log_f
    pl2 = 32.4 + 40.0 * log_d3 + 20.0 * log_f - 9.5 * np.log10(d_bp**2 + (hbs - hut) ** 2)
    pl_los = np.where(d2 <= d_bp, pl1, pl2)
    pl_nlos = 35.3 * log_d3 + 22.4 + 21.3 * log_f - 0.3 * (hut - 1.5)
    out = np.where(is_los, pl_los, np.maximum(pl_los, pl_nlos))
    return _out(np.broadcast_to(out, np.broadcast_shapes(d2.shape, out.shape)).copy())


def uma(
    distance_2d_m: ArrayLike,
    frequency_ghz: ArrayLike,
    h_bs_m: ArrayLike = 25.0,
    h_ut_m: ArrayLike = 1.5,
    los: bool | npt.ArrayLike = True,
    *,
    strict: bool = True,
) -> FloatArray:
    """3GPP TR 38.901 UMa path loss (h_E = 1 m).

    LoS: ``PL1 = 28.0 + 22 log10(d3D) + 20 log10(fc)`` up to ``d'_BP``, then
    ``PL2 = 28.0 + 40 log10(d3D) + 20 log10(fc) − 9 log10(d'_BP² + (h_BS − h_UT)²)``.
    NLoS: ``max(PL_LoS, 13.54 + 39.08 log10(d3D) + 20 log10(fc) − 0.6 (h_UT − 1.5))``.

    Parameters
    ----------
    distance_2d_m
        Horizontal distance (m), 10–5000.
    frequency_ghz
        Carrier frequency (GHz), 0.5–100.
    h_bs_m
        Base-station antenna height (m); the scenario's nominal value is 25 m.
    h_ut_m
        User-terminal height (m), 1.5–22.5.
    los
        True for line-of-sight paths (scalar or boolean array).
    strict
        Raise outside the validity range (default); ``False`` warns instead.

    Returns
    -------
    float or ndarray
        Median path loss (dB); shadow-fading σ is 4 dB (LoS) and 6 dB (NLoS).

    Raises
    ------
    ValueError
        For a value outside the validity range (``strict``).

    References
    ----------
    3GPP TR 38.901 Table 7.4.1-1 [TR38901]_.
    """
    d2, log_d3, log_f, f, hbs, hut, is_los = _tr38901_inputs(
        distance_2d_m, frequency_ghz, h_bs_m, h_ut_m, los, "TR 38.901 UMa", strict
    )
    d_bp = _breakpoint_m(hbs, hut, f)
    pl1 = 28.0 + 22.0 * log_d3 + 20.0 * log_f
    pl2 = 28.0 + 40.0 * log_d3 + 20.0 * log_f - 9.0 * np.log10(d_bp**2 + (hbs - hut) ** 2)
    pl_los = np.where(d2 <= d_bp, pl1, pl2)
    pl_nlos = 13.54 + 39.08 * log_d3 + 20.0 * log_f - 0.6 * (hut - 1.5)
    out = np.where(is_los, pl_los, np.maximum(pl_los, pl_nlos))
    return _out(np.broadcast_to(out, np.broadcast_shapes(d2.shape, out.shape)).copy())


def los_probability_umi(distance_2d_m: ArrayLike) -> FloatArray:
    """Probability of line of sight in TR 38.901 UMi – street canyon.

    ``1`` for d ≤ 18 m, else ``18/d + exp(−d/36) (1 − 18/d)``.

    Parameters
    ----------
    distance_2d_m
        Horizontal distance (m), ≥ 0.

    Returns
    -------
    float or ndarray
        Probability in [0, 1].

    References
    ----------
    3GPP TR 38.901 Table 7.4.2-1 [TR38901]_.
    """
    d = np.maximum(_arr(distance_2d_m), 18.0)
    return _out(18.0 / d + np.exp(-d / 36.0) * (1.0 - 18.0 / d))


def los_probability_uma(distance_2d_m: ArrayLike, h_ut_m: ArrayLike = 1.5) -> FloatArray:
    """Probability of line of sight in TR 38.901 UMa.

    ``1`` for d ≤ 18 m, else ``[18/d + exp(−d/63)(1 − 18/d)] (1 + C'(h_UT) 5/4 (d/100)³
    exp(−d/150))`` with ``C' = 0`` for h_UT ≤ 13 m and ``((h_UT − 13)/10)^1.5`` up to 23 m.

    Parameters
    ----------
    distance_2d_m
        Horizontal distance (m), ≥ 0.
    h_ut_m
        User-terminal height (m), ≤ 23.

    Returns
    -------
    float or ndarray
        Probability in [0, 1].

    References
    ----------
    3GPP TR 38.901 Table 7.4.2-1 [TR38901]_.
    """
    d = np.maximum(_arr(distance_2d_m), 18.0)
    hut = _arr(h_ut_m)
    c_prime = np.where(hut <= 13.0, 0.0, (np.clip(hut, 13.0, 23.0) - 13.0) / 10.0) ** 1.5
    base = 18.0 / d + np.exp(-d / 63.0) * (1.0 - 18.0 / d)
    return _out(base * (1.0 + c_prime * 1.25 * (d / 100.0) ** 3 * np.exp(-d / 150.0)))


def okumura_hata(
    distance_km: ArrayLike,
    frequency_mhz: ArrayLike,
    h_base_m: ArrayLike,
    h_mobile_m: ArrayLike,
    environment: str = "urban_small",
    *,
    strict: bool = True,
) -> FloatArray:
    """Okumura–Hata median path loss (150–1500 MHz).

    ``L_u = 69.55 + 26.16 log f − 13.82 log h_b − a(h_m) + (44.9 − 6.55 log h_b) log d`` with
    ``a(h_m) = (1.1 log f − 0.7) h_m − (1.56 log f − 0.8)`` in a small/medium city, and for a
    large city ``8.29 (log 1.54 h_m)² − 1.1`` (f ≤ 300 MHz) or ``3.2 (log 11.75 h_m)² − 4.97``.
    Suburban: ``L_u − 2 (log(f/28))² − 5.4``; open: ``L_u − 4.78 (log f)² + 18.33 log f − 40.94``.

    Parameters
    ----------
    distance_km
        Distance (km), 1–20.
    frequency_mhz
        Frequency (MHz), 150–1500.
    h_base_m
        Base-station antenna height (m), 30–200.
    h_mobile_m
        Mobile antenna height (m), 1–10.
    environment
        ``"urban_small"`` (small/medium city), ``"urban_large"``, ``"suburban"`` or ``"open"``.
    strict
        Raise outside the validity range (default); ``False`` warns instead.

    Returns
    -------
    float or ndarray
        Median path loss (dB).

    Raises
    ------
    ValueError
        For an unknown environment or a value outside the range (``strict``).

    References
    ----------
    Hata (1980) [Hata]_, eqs. (3)-(6).
    """
    _check_choice(environment, HATA_ENVIRONMENTS, "environment")
    d, f, hb, hm = np.broadcast_arrays(
        _arr(distance_km), _arr(frequency_mhz), _arr(h_base_m), _arr(h_mobile_m)
    )
    model = "Okumura-Hata"
    _check_range(f, 150.0, 1500.0, "frequency_mhz", model, strict)
    _check_range(d, 1.0, 20.0, "distance_km", model, strict)
    _check_range(hb, 30.0, 200.0, "h_base_m", model, strict)
    _check_range(hm, 1.0, 10.0, "h_mobile_m", model, strict)
    log_f = np.log10(f)
    if environment == "urban_large":
        a_hm = np.where(
            f <= 300.0,
            8.29 * np.log10(1.54 * hm) ** 2 - 1.1,
            3.2 * np.log10(11.75 * hm) ** 2 - 4.97,
        )
    else:
        a_hm = (1.1 * log_f - 0.7) * hm - (1.56 * log_f - 0.8)
    urban = (
        69.55
        + 26.16 * log_f
        - 13.82 * np.log10(hb)
        - a_hm
        + (44.9 - 6.55 * np.log10(hb)) * np.log10(d)
    )
    if environment == "suburban":
        urban = urban - 2.0 * np.log10(f / 28.0) ** 2 - 5.4
    elif environment == "open":
        urban = urban - 4.78 * log_f**2 + 18.33 * log_f - 40.94
    return _out(urban)


def cost231_hata(
    distance_km: ArrayLike,
    frequency_mhz: ArrayLike,
    h_base_m: ArrayLike,
    h_mobile_m: ArrayLike,
    metropolitan: bool = False,
    *,
    strict: bool = True,
) -> FloatArray:
    """COST-231 extension of the Hata model (1500–2000 MHz).

    ``L = 46.3 + 33.9 log f − 13.82 log h_b − a(h_m) + (44.9 − 6.55 log h_b) log d + C_m`` with
    the small/medium-city ``a(h_m)`` and ``C_m`` = 0 dB (medium city, suburban) or 3 dB
    (metropolitan centre).

    Notes
    -----
    Signal-Server's ``cost.cc`` stores the constants in ``int`` variables (``int c0 = 46.3;
    int cf = 33.9;``), so it computes with 46 and 33: at 1800 MHz its loss is
    ``0.3 + 0.9 log10(1800) ≈ 3.23 dB`` lower than the published equation implemented here,
    everything else being equal. This module follows the COST 231 report.

    Parameters
    ----------
    distance_km
        Distance (km), 1–20.
    frequency_mhz
        Frequency (MHz), 1500–2000.
    h_base_m
        Base-station antenna height (m), 30–200.
    h_mobile_m
        Mobile antenna height (m), 1–10.
    metropolitan
        Add the 3 dB metropolitan-centre correction.
    strict
        Raise outside the validity range (default); ``False`` warns instead.

    Returns
    -------
    float or ndarray
        Median path loss (dB).

    Raises
    ------
    ValueError
        For a value outside the validity range (``strict``).

    References
    ----------
    COST 231 final report §4.4.1 [COST231]_.
    """
    d, f, hb, hm = np.broadcast_arrays(
        _arr(distance_km), _arr(frequency_mhz), _arr(h_base_m), _arr(h_mobile_m)
    )
    model = "COST-231 Hata"
    _check_range(f, 1500.0, 2000.0, "frequency_mhz", model, strict)
    _check_range(d, 1.0, 20.0, "distance_km", model, strict)
    _check_range(hb, 30.0, 200.0, "h_base_m", model, strict)
    _check_range(hm, 1.0, 10.0, "h_mobile_m", model, strict)
    log_f = np.log10(f)
    a_hm = (1.1 * log_f - 0.7) * hm - (1.56 * log_f - 0.8)
    loss = (
        46.3
        + 33.9 * log_f
        - 13.82 * np.log10(hb)
        - a_hm
        + (44.9 - 6.55 * np.log10(hb)) * np.log10(d)
        + (3.0 if metropolitan else 0.0)
    )
    return _out(loss)


def o2i_penetration_loss(
    frequency_ghz: ArrayLike,
    model: Literal["low", "high"] = "low",
    *,
    indoor_distance_m: ArrayLike = 0.0,
) -> FloatArray:
    """Outdoor-to-indoor building penetration loss of TR 38.901 §7.4.3 (median).

    ``PL_tw = 5 − 10 log10(Σ p_i 10^(−L_i/10))`` with ``L_glass = 2 + 0.2 f``,
    ``L_IIRglass = 23 + 0.3 f``, ``L_concrete = 5 + 4 f``; low-loss model: 30 % glass and 70 %
    concrete; high-loss model: 70 % IRR glass and 30 % concrete. ``PL_in = 0.5 d_in``.

    Parameters
    ----------
    frequency_ghz
        Frequency (GHz), 0.5–100.
    model
        ``"low"`` (older buildings, standard glass) or ``"high"`` (energy-efficient buildings).
    indoor_distance_m
        Distance travelled inside the building (m), adding 0.5 dB/m.

    Returns
    -------
    float or ndarray
        Penetration loss PL_tw + PL_in (dB).

    Raises
    ------
    ValueError
        For an unknown model or a frequency outside 0.5–100 GHz.

    References
    ----------
    3GPP TR 38.901 Tables 7.4.3-1 and 7.4.3-2 [TR38901]_.
    """
    _check_choice(model, ("low", "high"), "model")
    f = _arr(frequency_ghz)
    _check_range(f, 0.5, 100.0, "frequency_ghz", "TR 38.901 O2I", True)
    l_concrete = 5.0 + 4.0 * f
    if model == "low":
        mix = 0.3 * 10 ** (-(2.0 + 0.2 * f) / 10) + 0.7 * 10 ** (-l_concrete / 10)
    else:
        mix = 0.7 * 10 ** (-(23.0 + 0.3 * f) / 10) + 0.3 * 10 ** (-l_concrete / 10)
    return _out(5.0 - 10.0 * np.log10(mix) + 0.5 * _arr(indoor_distance_m))
