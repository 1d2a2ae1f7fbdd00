"""Running and watching the hotspots: gateway enforcement, legal log, SNMP monitor, health."""
