"""Faithful local simulators of WooCommerce, Stripe, Twilio and the Alexa APIs, with fault controls.

Imports nothing of ours. See ``sandbox/README.md`` and :func:`sandbox.server.start_sandbox`.
"""
