"""Consent requests: the SQL store, the consent-link pages and the owner API for standing grants."""
