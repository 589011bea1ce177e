"""Small SQL stores owned by the gateway (conversations)."""
