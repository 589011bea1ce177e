"""The credential vault and the tamper-evident audit log.

``crypto`` (Tink root key and keyset helpers), ``keyring`` (owner keysets and system keys in the database),
``credentials`` (`CredentialVault`, `Secret`), ``audit`` (`SqlAuditLog`), ``audit_verify`` (`verify`),
``privacy`` (export and crypto-shredding erasure), ``schema`` (tables + append-only triggers), ``services``
(`build_vault` for the bootstrap) and ``cli`` (``omniops vault …`` / ``omniops audit …``). Imports only ``core``.
"""
