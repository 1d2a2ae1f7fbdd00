"""villenum — plan, run and monitor a city's public digital infrastructure."""

__version__ = "0.1.0"
