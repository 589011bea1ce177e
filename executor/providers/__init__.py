"""executor/providers."""
