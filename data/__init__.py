"""The city model: boundary, streets, buildings, neighbourhoods, population and demand."""
