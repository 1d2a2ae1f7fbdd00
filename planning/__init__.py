"""Planning: candidate sites, access-point placement and fibre backhaul."""
