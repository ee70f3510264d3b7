"""Field operators: one small file each, listed in an explicit registry."""
