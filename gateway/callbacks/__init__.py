"""Provider callbacks: WooCommerce wc-auth key delivery and webhooks, Stripe Connect OAuth redirect."""
