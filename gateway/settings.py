"""Settings from the environment (prefix ``OMNIOPS_``). The embedded defaults need none of them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROVIDERS = (
    "woocommerce",
    "stripe",
    "shopify",
    "sendgrid",
    "mailchimp",
    "google_analytics",
    "facebook_pixel",
    "twilio",
    "alexa_api",
    "lwa",
)


class Settings(BaseSettings):
    """Every knob of the gateway and worker. Construct with keywords in tests; from the environment in prod."""

    model_config = SettingsConfigDict(env_prefix="OMNIOPS_", extra="ignore", frozen=True)

    env: Literal["development", "test", "production"] = "development"
    var_dir: Path = Path("var")
    database_url: str | None = None  # default: sqlite:///<var_dir>/omniops.db
    redis_url: str | None = None  # set → distributed mode (RedisHuey, pub/sub events)
    public_url: str = "http://127.0.0.1:8080"
    host: str = "127.0.0.1"
    port: int = 8080
    secret_key: SecretStr | None = None  # Flask session signing; generated under var/ when absent (embedded)
    vault_root_key_file: Path | None = None
    vault_root_key: SecretStr | None = None  # the root keyset itself (Tink JSON), when a file can't be mounted
    vault_rotation_days: int = 90
    consent_ttl_seconds: int = 15 * 60
    max_body_bytes: int = 64 * 1024
    log_level: str = "INFO"
    log_json: bool = True
    worker_threads: int = 2
    worker_lease_seconds: float = 30.0  # a killed worker's run resumes elsewhere within about one lease
    retention_screenshot_days: int = 30  # run screenshot folders under var/runs/ (see gateway.retention)
    retention_sms_dedupe_days: int = 7  # inbound SMS message ids kept to drop Twilio redeliveries
    retention_interval_seconds: float = 3600.0  # `omniops run` prunes this often; distributed: cron `omniops prune`

    alexa_skill_id: str | None = None
    alexa_ca_bundle: Path | None = None
    alexa_cert_mirror: str | None = None
    alexa_client_id: str | None = None
    alexa_client_secret: SecretStr | None = None
    google_project_id: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = None
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None

    woocommerce_base_url: str | None = None
    stripe_base_url: str | None = None
    stripe_connect_base_url: str | None = None
    stripe_client_id: str | None = None
    stripe_secret_key: SecretStr | None = None
    shopify_base_url: str | None = None
    sendgrid_base_url: str | None = None
    mailchimp_base_url: str | None = None
    google_analytics_base_url: str | None = None
    facebook_pixel_base_url: str | None = None
    twilio_base_url: str | None = None
    alexa_api_base_url: str | None = None
    lwa_base_url: str | None = None

    extra_provider_urls: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if self.env == "production":
            if self.alexa_cert_mirror:
                raise ValueError("OMNIOPS_ALEXA_CERT_MIRROR is for tests only and is refused in production")
            if not self.public_url.startswith("https://"):
                raise ValueError("OMNIOPS_PUBLIC_URL must be https:// in production")
            if self.secret_key is None:
                raise ValueError("OMNIOPS_SECRET_KEY is required in production")
        return self

    @property
    def distributed(self) -> bool:
        return self.redis_url is not None

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'omniops.db').resolve()}"

    def provider_url(self, provider: str) -> str | None:
        """The base URL override for ``provider`` (the sandbox sets these), or None for the real service."""
        value = getattr(self, f"{provider}_base_url", None)
        return value if isinstance(value, str) else self.extra_provider_urls.get(provider)
