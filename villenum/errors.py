"""Every error and warning type villenum raises on purpose.

A ``VillenumError`` means the user (or their data or configuration) is wrong, not the code:
the CLI prints its message as one line on stderr and exits with status 2. Messages are one
clear sentence that names the file, field or value at fault.
"""


class VillenumError(Exception):
    """Base class of the errors that report a user mistake (CLI exit status 2)."""


class DataError(VillenumError):
    """A city data file is missing, corrupt, or has invalid or unprojected geometry."""


class ConfigError(VillenumError):
    """A TOML configuration file is missing, unreadable or has a wrong value."""


class CoverageError(VillenumError):
    """A coverage request cannot be computed as asked (bad sites, CRS, band, range)."""


class RegulationError(CoverageError):
    """A transmitter exceeds the French regulatory limits of its band."""


class PlanningError(VillenumError):
    """A placement or backhaul planning request is infeasible or malformed."""


class InventoryError(VillenumError):
    """A hotspot inventory file is malformed; the message names the hotspot and the field."""


class GatewayError(VillenumError):
    """The hotspot gateway cannot apply its rules or run as configured."""


class MonitorError(VillenumError):
    """The SNMP monitor cannot run as asked (database, listen address, inventory)."""


class ValidityWarning(UserWarning):
    """A propagation model is used outside its published validity range (``strict=False``)."""


class MapError(VillenumError):
    """A map cannot be drawn or written as asked (layer data, CRS, output path)."""
