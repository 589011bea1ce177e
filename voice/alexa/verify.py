"""Alexa request verification, exactly as Alexa requires (channels.md B1).

Order: required headers → ``SignatureCertChainUrl`` rules → certificate chain (cached by URL until the
end certificate expires or the TTL passes) → end certificate in date with SAN ``echo-api.amazon.com`` →
``Signature-256`` (RSA PKCS#1 v1.5, SHA-256) over the raw body → request timestamp within 150 s (3600 s
for ``AlexaSkillEvent.*``) → exact skill id. Every failure raises :class:`core.errors.VerificationFailed`
(HTTP 400). Messages name the rule, never the body or any token.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import posixpath
import ssl
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from core.errors import ConfigurationError, VerificationFailed

_LOG = logging.getLogger(__name__)

CERT_HOST = "s3.amazonaws.com"
CERT_PATH_PREFIX = "/echo.api/"
SAN_NAME = "echo-api.amazon.com"
MAX_SKEW = timedelta(seconds=150)
MAX_SKEW_SKILL_EVENT = timedelta(seconds=3600)
CERT_CACHE_TTL = timedelta(hours=1)
MAX_CERT_BYTES = 64 * 1024


def _utcnow() -> datetime:
    return datetime.now(UTC)


def validated_cert_url(url: str) -> str:
    """Check ``SignatureCertChainUrl`` and return its normalized path (``/echo.api/…``).

    https (any case), host ``s3.amazonaws.com`` (any case), port 443 if given, and the path after POSIX
    normalization starting with ``/echo.api/`` (case-sensitive).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise VerificationFailed("certificate URL is malformed") from err
    if parts.scheme.lower() != "https":
        raise VerificationFailed("certificate URL must use https")
    if (parts.hostname or "").lower() != CERT_HOST:
        raise VerificationFailed("certificate URL host must be s3.amazonaws.com")
    if port is not None and port != 443:
        raise VerificationFailed("certificate URL port must be 443")
    if parts.username is not None or parts.password is not None:
        raise VerificationFailed("certificate URL must not carry user info")
    path = posixpath.normpath(unquote(parts.path)) if parts.path else ""
    if not path.startswith(CERT_PATH_PREFIX):
        raise VerificationFailed("certificate URL path must start with /echo.api/")
    return path


class CertFetcher(Protocol):
    """Fetches the PEM chain at an already-validated certificate URL."""

    def fetch(self, url: str, path: str) -> bytes:
        """Return the PEM bytes of ``url`` (whose normalized path is ``path``)."""
        ...


class HttpCertFetcher:
    """Fetch certificate chains with httpx; ``cert_mirror`` (tests only) serves the path from another base URL."""

    def __init__(
        self,
        *,
        client: httpx.Client | None = None,
        cert_mirror: str | None = None,
        env: str = "development",
        timeout: float = 3.0,
    ) -> None:
        if cert_mirror and env.lower() in ("production", "prod"):
            raise ConfigurationError("OMNIOPS_ALEXA_CERT_MIRROR is for tests and is refused in production")
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self._mirror = cert_mirror.rstrip("/") if cert_mirror else None

    def fetch(self, url: str, path: str) -> bytes:
        """GET the chain (from the mirror when configured); any transport or HTTP failure is a verification failure."""
        target = f"{self._mirror}{path}" if self._mirror else f"https://{CERT_HOST}{path}"
        try:
            with self._client.stream("GET", target) as resp:
                if resp.status_code != 200:
                    raise VerificationFailed(f"certificate download failed with HTTP {resp.status_code}")
                body = b""
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_CERT_BYTES:
                        raise VerificationFailed("certificate chain is too large")
        except httpx.HTTPError as err:
            raise VerificationFailed("certificate download failed") from err
        return body


def load_trust_roots(*, extra_bundle: str | Path | None = None, system: bool = True) -> list[x509.Certificate]:
    """The system CA bundle plus an optional extra PEM bundle (``OMNIOPS_ALEXA_CA_BUNDLE``)."""
    roots: list[x509.Certificate] = []
    if system:
        cafile = ssl.get_default_verify_paths().cafile
        if cafile and Path(cafile).is_file():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a few system roots have legacy encodings
                roots.extend(x509.load_pem_x509_certificates(Path(cafile).read_bytes()))
    if extra_bundle:
        try:
            roots.extend(x509.load_pem_x509_certificates(Path(extra_bundle).read_bytes()))
        except (OSError, ValueError) as err:
            raise ConfigurationError(f"cannot read the Alexa CA bundle {extra_bundle}") from err
    if not roots:
        raise ConfigurationError("no trust roots for Alexa certificate verification")
    return roots


@dataclass(frozen=True)
class _CachedChain:
    end: x509.Certificate
    expires_at: datetime


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted and value:
            return value.strip()
    raise VerificationFailed(f"missing {name} header")


class AlexaVerifier:
    """Verify signed Alexa requests; thread-safe; certificate chains cached by URL with expiry."""

    def __init__(
        self,
        *,
        skill_id: str,
        fetcher: CertFetcher,
        trust_roots: Sequence[x509.Certificate],
        clock: Callable[[], datetime] = _utcnow,
        cache_ttl: timedelta = CERT_CACHE_TTL,
    ) -> None:
        if not skill_id:
            raise ConfigurationError("the Alexa skill id (OMNIOPS_ALEXA_SKILL_ID) is required")
        self._skill_id = skill_id
        self._fetcher = fetcher
        self._store = Store(list(trust_roots))
        self._clock = clock
        self._ttl = cache_ttl
        self._cache: dict[str, _CachedChain] = {}
        self._lock = threading.Lock()

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> dict[str, Any]:
        """Verify one request and return its parsed JSON envelope; raises ``VerificationFailed``."""
        cert_url = _header(headers, "SignatureCertChainUrl")
        signature_b64 = _header(headers, "Signature-256")
        path = validated_cert_url(cert_url)
        end_cert = self._end_certificate(cert_url, path)
        self._check_signature(end_cert, signature_b64, raw_body)
        envelope = self._envelope(raw_body)
        self._check_timestamp(envelope)
        self._check_skill_id(envelope)
        return envelope

    # ------------------------------------------------------------------------------------ certificates
    def _end_certificate(self, url: str, path: str) -> x509.Certificate:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None and now < cached.expires_at:
            self._check_end_dates(cached.end, now)
            return cached.end
        pem = self._fetcher.fetch(url, path)
        end = self._validate_chain(pem, now)
        expires = min(now + self._ttl, end.not_valid_after_utc)
        with self._lock:
            self._cache[url] = _CachedChain(end=end, expires_at=expires)
        return end

    def _validate_chain(self, pem: bytes, now: datetime) -> x509.Certificate:
        try:
            certs = x509.load_pem_x509_certificates(pem)
        except ValueError as err:
            raise VerificationFailed("certificate chain is not valid PEM") from err
        end, intermediates = certs[0], certs[1:]
        self._check_end_dates(end, now)
        self._check_san(end)
        self._check_key_usage(end)
        if not isinstance(end.public_key(), rsa.RSAPublicKey):
            raise VerificationFailed("end certificate key is not RSA")
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(now.replace(tzinfo=None))
            .build_server_verifier(x509.DNSName(SAN_NAME))
        )
        try:
            verifier.verify(end, intermediates)
        except VerificationError as err:
            raise VerificationFailed("certificate chain does not lead to a trusted root") from err
        return end

    @staticmethod
    def _check_end_dates(end: x509.Certificate, now: datetime) -> None:
        if not end.not_valid_before_utc <= now <= end.not_valid_after_utc:
            raise VerificationFailed("end certificate is not valid at this time")

    @staticmethod
    def _check_san(end: x509.Certificate) -> None:
        try:
            san = end.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound as err:
            raise VerificationFailed("end certificate has no subject alternative name") from err
        if SAN_NAME not in [name.lower() for name in san.get_values_for_type(x509.DNSName)]:
            raise VerificationFailed("end certificate is not for echo-api.amazon.com")

    @staticmethod
    def _check_key_usage(end: x509.Certificate) -> None:
        try:
            usage = end.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            return
        if not usage.digital_signature:
            raise VerificationFailed("end certificate may not sign")
        try:
            eku = end.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            return
        if ExtendedKeyUsageOID.SERVER_AUTH not in eku:
            raise VerificationFailed("end certificate is not a server certificate")

    # ------------------------------------------------------------------------------------ body
    @staticmethod
    def _check_signature(end: x509.Certificate, signature_b64: str, raw_body: bytes) -> None:
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except (binascii.Error, ValueError) as err:
            raise VerificationFailed("Signature-256 is not base64") from err
        key = end.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise VerificationFailed("end certificate key is not RSA")
        try:
            key.verify(signature, raw_body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as err:
            raise VerificationFailed("Signature-256 does not match the body") from err

    @staticmethod
    def _envelope(raw_body: bytes) -> dict[str, Any]:
        try:
            envelope = json.loads(raw_body)
        except (UnicodeDecodeError, ValueError) as err:
            raise VerificationFailed("request body is not JSON") from err
        if not isinstance(envelope, dict) or not isinstance(envelope.get("request"), dict):
            raise VerificationFailed("request body is not an Alexa request envelope")
        return envelope

    def _check_timestamp(self, envelope: Mapping[str, Any]) -> None:
        request = envelope["request"]
        raw = request.get("timestamp")
        if not isinstance(raw, str):
            raise VerificationFailed("request timestamp is missing")
        try:
            stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError as err:
            raise VerificationFailed("request timestamp is malformed") from err
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        is_event = str(request.get("type", "")).startswith("AlexaSkillEvent.")
        limit = MAX_SKEW_SKILL_EVENT if is_event else MAX_SKEW
        if abs(self._clock() - stamp) > limit:
            raise VerificationFailed("request timestamp is outside the allowed window")

    def _check_skill_id(self, envelope: Mapping[str, Any]) -> None:
        app_id = _dig(envelope, "context", "System", "application", "applicationId")
        if app_id is None:
            app_id = _dig(envelope, "session", "application", "applicationId")
        if app_id != self._skill_id:
            raise VerificationFailed("skill id does not match")


def _dig(data: Mapping[str, Any], *keys: str) -> Any:
    cur: Any = data
    for key in keys:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return cur
