"""Blueprints: one per concern."""
