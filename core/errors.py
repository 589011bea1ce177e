"""The OmniOps error tree.

Every error the product raises on purpose descends from :class:`OmniOpsError`. Each class carries
its wire form as class attributes (``status`` for HTTP, ``code`` for problem+json ``type`` and for
owner-facing error codes), so one boundary per adapter can render any of them without a lookup table::

    OmniOpsError                      500 internal
    ├── InputError                    400 bad_input        malformed or oversized input from a channel
    │   ├── MalformedRequest          400 malformed_request
    │   ├── PayloadTooLarge           413 payload_too_large
    │   └── InvalidParams             422 invalid_params   params fail the intent's model
    ├── VerificationFailed            400 verification_failed   a channel signature/certificate/timestamp
    ├── AuthenticationRequired        401 authentication_required  missing/invalid/revoked token
    ├── Forbidden                     403 forbidden
    │   ├── NotEntitled               403 not_entitled     the owner's plan does not include this
    │   └── ConsentError              403 consent_invalid  grant missing, expired, revoked or mismatched
    ├── NotFound                      404 not_found
    ├── Conflict                      409 conflict         e.g. consent already decided, stale lease
    │   └── StaleAttempt              409 stale_attempt    a worker lost its lease (fencing token)
    ├── RateLimited                   429 rate_limited
    ├── ProviderError                 502 provider_error   a third party failed; the runner decides by family
    │   ├── ProviderRetryable         503 provider_retryable   5xx, 429, timeouts, resets
    │   ├── ProviderRejected          502 provider_rejected    4xx: fail now and compensate
    │   └── CredentialsExpired        502 credentials_expired  hand to self-healing
    └── ConfigurationError            500 configuration_error  bad settings, refused at start-up

Messages are written for people and must never contain secrets, tokens or credentials.
"""

from __future__ import annotations

from typing import Any, ClassVar


class OmniOpsError(Exception):
    """Base of every deliberate OmniOps error."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.message = message or self.title
        self.extra: dict[str, Any] = dict(extra)
        super().__init__(self.message)

    def problem(self) -> dict[str, Any]:
        """Return the RFC 9457 problem+json body for this error (no secrets, by construction)."""
        body: dict[str, Any] = {
            "type": f"https://omniops.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.message,
            "code": self.code,
        }
        body.update({k: v for k, v in self.extra.items() if k not in body})
        return body


class InputError(OmniOpsError):
    status, code, title = 400, "bad_input", "Bad input"


class MalformedRequest(InputError):
    status, code, title = 400, "malformed_request", "Malformed request"


class PayloadTooLarge(InputError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class InvalidParams(InputError):
    status, code, title = 422, "invalid_params", "Invalid parameters"


class VerificationFailed(OmniOpsError):
    status, code, title = 400, "verification_failed", "Request verification failed"


class AuthenticationRequired(OmniOpsError):
    status, code, title = 401, "authentication_required", "Authentication required"


class Forbidden(OmniOpsError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotEntitled(Forbidden):
    status, code, title = 403, "not_entitled", "Not included in the plan"


class ConsentError(Forbidden):
    status, code, title = 403, "consent_invalid", "Consent missing or invalid"


class NotFound(OmniOpsError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(OmniOpsError):
    status, code, title = 409, "conflict", "Conflict"


class StaleAttempt(Conflict):
    status, code, title = 409, "stale_attempt", "Stale attempt"


class RateLimited(OmniOpsError):
    status, code, title = 429, "rate_limited", "Too many requests"

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **extra: Any) -> None:
        super().__init__(message, **extra)
        self.retry_after = retry_after


class ProviderError(OmniOpsError):
    status, code, title = 502, "provider_error", "Provider error"

    def __init__(
        self,
        message: str | None = None,
        *,
        provider: str = "",
        http_status: int | None = None,
        provider_code: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message, **extra)
        self.provider = provider
        self.http_status = http_status
        self.provider_code = provider_code


class ProviderRetryable(ProviderError):
    status, code, title = 503, "provider_retryable", "Provider temporarily unavailable"

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ProviderRejected(ProviderError):
    status, code, title = 502, "provider_rejected", "Provider rejected the request"


class CredentialsExpired(ProviderError):
    status, code, title = 502, "credentials_expired", "Provider credentials expired or revoked"


class ConfigurationError(OmniOpsError):
    status, code, title = 500, "configuration_error", "Configuration error"
