"""Vendor profiles: which OIDs give an access point's wireless client count, channel use and noise.

Every profile polls the standard objects (SNMPv2-MIB system group, IF-MIB ``ifTable`` and
``ifXTable``, HOST-RESOURCES-MIB ``hrProcessorLoad``, UCD-SNMP-MIB CPU and memory); a vendor
profile adds the wireless objects its firmware exposes. Table columns are walked with GETBULK
and aggregated over their rows (``sum`` of the clients of every SSID/radio, ``max`` channel
utilisation, ``max`` noise floor, i.e. the worst radio).

``generic``
    Standard MIBs only: no wireless figures.
``openwrt``
    OpenWrt has no wireless MIB; its ``snmpd`` publishes the output of ``extend`` scripts in
    NET-SNMP-EXTEND-MIB ``nsExtendOutput1Line`` (1.3.6.1.4.1.8072.1.3.2.3.1.1), indexed by the
    extend name. villenum reads three extends, to add to ``/etc/config/snmpd`` (or
    ``snmpd.conf``)::

        extend wifi-clients  /bin/sh -c "iwinfo | grep -c ..."   # associated stations (sum)
        extend wifi-chanutil /usr/libexec/villenum-chanutil      # busy time in % (max radio)
        extend wifi-noise    /usr/libexec/villenum-noise         # noise floor in dBm (max)

``unifi``
    UBNT-UniFi-MIB (1.3.6.1.4.1.41112.1.6): ``unifiVapNumStations``
    1.3.6.1.4.1.41112.1.6.1.2.1.8 (clients per VAP, summed) and ``unifiRadioCuTotal``
    1.3.6.1.4.1.41112.1.6.1.1.1.6 (channel utilisation in %, per radio, max). UniFi does not
    publish a noise floor over SNMP.
``mikrotik``
    MIKROTIK-MIB (1.3.6.1.4.1.14988.1.1.1) ``mtxrWlApTable``: ``mtxrWlApClientCount``
    1.3.6.1.4.1.14988.1.1.1.3.1.6 (summed) and ``mtxrWlApNoiseFloor``
    1.3.6.1.4.1.14988.1.1.1.3.1.9 (dBm, max). No channel-utilisation object.
``cisco``
    CISCO-DOT11-ASSOCIATION-MIB ``cDot11ActiveWirelessClients``
    1.3.6.1.4.1.9.9.273.1.1.2.1.1 (per radio interface, summed), autonomous IOS access points.
    Channel utilisation and noise are only exposed by the wireless LAN controller, not the AP.

References
----------
RFC 3418 (SNMPv2-MIB), RFC 2863 (IF-MIB), RFC 2790 (HOST-RESOURCES-MIB), Net-SNMP UCD-SNMP-MIB
and NET-SNMP-EXTEND-MIB, Ubiquiti UBNT-UniFi-MIB, MikroTik MIKROTIK-MIB, Cisco
CISCO-DOT11-ASSOCIATION-MIB.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """A table column walked by GETBULK and reduced to one value.

    ``oid`` is the numeric column OID (no instance); ``reduce`` is ``sum``, ``max`` or
    ``mean`` over the rows; ``instance`` restricts the walk to rows whose index suffix equals
    it (used for NET-SNMP extend names).
    """

    oid: str
    reduce: str = "sum"
    instance: str | None = None


@dataclass(frozen=True)
class Profile:
    """The wireless objects one vendor exposes (metric name -> column)."""

    name: str
    wireless: dict[str, Column] = field(default_factory=dict)


def extend_index(name: str) -> str:
    """The instance suffix NET-SNMP gives an extend name (its length, then its ASCII codes)."""
    return ".".join([str(len(name)), *(str(b) for b in name.encode("ascii"))])


_NS_EXTEND_OUTPUT_1LINE = "1.3.6.1.4.1.8072.1.3.2.3.1.1"

PROFILES: dict[str, Profile] = {
    "generic": Profile("generic"),
    "openwrt": Profile(
        "openwrt",
        {
            "clients": Column(_NS_EXTEND_OUTPUT_1LINE, "sum", extend_index("wifi-clients")),
            "channel_util_pct": Column(
                _NS_EXTEND_OUTPUT_1LINE, "max", extend_index("wifi-chanutil")
            ),
            "noise_dbm": Column(_NS_EXTEND_OUTPUT_1LINE, "max", extend_index("wifi-noise")),
        },
    ),
    "unifi": Profile(
        "unifi",
        {
            "clients": Column("1.3.6.1.4.1.41112.1.6.1.2.1.8", "sum"),
            "channel_util_pct": Column("1.3.6.1.4.1.41112.1.6.1.1.1.6", "max"),
        },
    ),
    "mikrotik": Profile(
        "mikrotik",
        {
            "clients": Column("1.3.6.1.4.1.14988.1.1.1.3.1.6", "sum"),
            "noise_dbm": Column("1.3.6.1.4.1.14988.1.1.1.3.1.9", "max"),
        },
    ),
    "cisco": Profile("cisco", {"clients": Column("1.3.6.1.4.1.9.9.273.1.1.2.1.1", "sum")}),
}
