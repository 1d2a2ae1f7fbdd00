"""Maps: reusable folium layers served with local assets, plan and health maps."""
