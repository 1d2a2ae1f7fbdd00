"""Radio coverage: propagation models, link budgets, building-aware line of sight, rasters."""
