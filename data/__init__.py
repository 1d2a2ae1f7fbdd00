"""The city model: boundary, streets, buildings, neighbourhoods, population and demand."""

from villenum.data.city import City, FibreFigures, embedded_cities, load_city, to_wgs84

__all__ = ["City", "FibreFigures", "embedded_cities", "load_city", "to_wgs84"]
