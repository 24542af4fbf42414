"""Grid configs and their expansion into cells (the four baseline families)."""
