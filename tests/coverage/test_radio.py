"""Link budget, French Wi-Fi limits, 802.11 sensitivities and rates."""

import numpy as np
import pytest

from villenum.coverage import radio
from villenum.errors import CoverageError, RegulationError


def test_defaults_are_the_legal_maxima_on_outdoor_channels():
    ap5 = radio.Transmitter(0.0, 0.0, band="5")
    assert ap5.effective_eirp_dbm == 30.0
    assert ap5.frequency_mhz == 5500.0
    ap24 = radio.Transmitter(0.0, 0.0, band="2.4")
    assert ap24.effective_eirp_dbm == 20.0
    assert ap24.frequency_mhz == 2437.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"band": "2.4", "eirp_dbm": 23.0}, "exceeds the French limit of 20 dBm"),
        ({"band": "5", "eirp_dbm": 33.0}, "exceeds the French limit of 30 dBm"),
        ({"band": "5", "channel": 36}, "indoor use only"),
        ({"band": "5", "channel": 100, "dfs": False}, "requires DFS"),
        ({"band": "5", "channel": 144}, "not inside a French Wi-Fi sub-band"),
        ({"band": "5", "channel": 138, "channel_width_mhz": 80}, "not inside"),
    ],
)
def test_illegal_plans_are_refused(kwargs, message):
    with pytest.raises(RegulationError, match=message):
        radio.Transmitter(0.0, 0.0, site_id="lamp-7", **kwargs)


def test_legal_edge_cases_pass():
    radio.Transmitter(0.0, 0.0, band="5", channel=36, indoor=True, eirp_dbm=23.0)
    radio.Transmitter(0.0, 0.0, band="5", channel=106, channel_width_mhz=80)  # 5490–5570 MHz
    radio.Transmitter(0.0, 0.0, band="5", channel=140)  # 5690–5710 MHz


def test_bad_descriptions_are_coverage_errors():
    with pytest.raises(CoverageError, match="band"):
        radio.Transmitter(0.0, 0.0, band="6")
    with pytest.raises(CoverageError, match="channel 14"):
        radio.Transmitter(0.0, 0.0, band="2.4", channel=14)
    with pytest.raises(CoverageError, match="channel_width_mhz 80"):
        radio.Transmitter(0.0, 0.0, band="2.4", channel_width_mhz=80)


def test_sensitivity_table_and_width_scaling():
    s20 = radio.mcs_sensitivity_dbm(20)
    assert s20[0] == -82 and s20[7] == -64 and s20[11] == -52
    assert np.all(np.diff(s20) > 0)
    assert radio.mcs_sensitivity_dbm(80) == pytest.approx(s20 + 6)


def test_achievable_mcs_and_rates():
    mcs = radio.achievable_mcs([-90.0, -82.0, -65.5, -40.0, np.nan], 20)
    assert mcs.tolist() == [-1, 0, 5, 11, -1]
    # SINR caps the MCS: 15 dB allows what the sensitivity table implies (NF 10 dB)
    need = radio.required_sinr_db(20)
    assert need[0] == pytest.approx(-82 + 174 - 73.0103 - 10, abs=1e-3)
    capped = radio.achievable_mcs([-40.0], 20, sinr_db=[15.0])
    assert capped[0] == np.searchsorted(need, 15.0, side="right") - 1
    # published 802.11ax rates: 8.6 (MCS0/20 MHz), 143.4 (MCS11/20), 600.5 Mbit/s (MCS11/80)
    rates = radio.data_rate_mbps([0, 11, -1], 20)
    assert rates == pytest.approx([8.6, 143.4, 0.0], abs=0.05)
    assert radio.data_rate_mbps(11, 80) == pytest.approx(600.5, abs=0.05)


def test_uplink_is_the_usual_limit():
    ap = radio.Transmitter(0.0, 0.0, band="5")  # 30 dBm, 5 dBi, sensitivity −82 dBm
    phone = radio.Client()
    path_loss = 105.0
    downlink = ap.effective_eirp_dbm - path_loss  # −75 dBm: closes
    uplink_margin = phone.eirp_dbm + ap.antenna_gain_dbi - path_loss - (-82.0)  # −3 dB: fails
    assert downlink + ap.uplink_offset_db(phone) == pytest.approx(uplink_margin)
    assert uplink_margin < 0 < downlink + 82
