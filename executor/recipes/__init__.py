"""executor/recipes."""
