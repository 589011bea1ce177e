"""Test kit for the voice channels: a test CA for Alexa signing, a real local HTTP server, request builders."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SKILL_ID = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"
CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-test.pem"


# ------------------------------------------------------------------------------------------ local HTTP
@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LocalServer:
    """Routes: path → (status, content type, body). Every request is recorded."""

    base_url: str = ""
    routes: dict[tuple[str, str], tuple[int, str, bytes]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def route(self, method: str, path: str, status: int, body: bytes | str | dict[str, Any], ctype: str = "") -> None:
        if isinstance(body, dict):
            data, ctype = json.dumps(body).encode(), ctype or "application/json"
        else:
            data = body.encode() if isinstance(body, str) else body
        self.routes[(method, path)] = (status, ctype or "application/octet-stream", data)

    def hits(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]


@contextmanager
def local_server() -> Iterator[LocalServer]:
    server_state = LocalServer()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?")[0]
            server_state.requests.append(Recorded(self.command, path, dict(self.headers.items()), body))
            status, ctype, data = server_state.routes.get((self.command, path), (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


# ------------------------------------------------------------------------------------------ test CA
def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test")]
    )


@dataclass
class Issuer:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey


def make_ca(cn: str = "OmniOps Test Root", *, parent: Issuer | None = None) -> Issuer:
    key = _key()
    now = datetime.now(UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(parent.cert.subject if parent else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None if parent is None else 0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
    )
    signer = parent.key if parent else key
    if parent is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()), critical=False
        )
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
    return Issuer(builder.sign(signer, hashes.SHA256()), key)


def make_leaf(
    issuer: Issuer,
    *,
    san: str = "echo-api.amazon.com",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Issuer:
    key = _key()
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(san))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
        .sign(issuer.key, hashes.SHA256())
    )
    return Issuer(cert, key)


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def sign(key: rsa.RSAPrivateKey, body: bytes) -> str:
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


@dataclass
class Pki:
    root: Issuer
    intermediate: Issuer
    leaf: Issuer

    @property
    def chain_pem(self) -> bytes:
        return pem(self.leaf.cert, self.intermediate.cert)


def make_pki() -> Pki:
    root = make_ca()
    inter = make_ca("OmniOps Test Intermediate", parent=root)
    return Pki(root, inter, make_leaf(inter))


# ------------------------------------------------------------------------------------------ Alexa requests
def alexa_envelope(
    *,
    request_type: str = "IntentRequest",
    intent: str | None = "SetupStoreIntent",
    slots: Mapping[str, Any] | None = None,
    token: str | None = "good-token",
    skill_id: str = SKILL_ID,
    timestamp: datetime | None = None,
    locale: str = "en-US",
    confirmation: str = "NONE",
    user_id: str = "amzn1.ask.account.TESTUSER",
    extra_request: Mapping[str, Any] | None = None,
    api_endpoint: str = "https://api.amazonalexa.com",
    api_access_token: str = "api-access-token",
) -> dict[str, Any]:
    stamp = (timestamp or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    user: dict[str, Any] = {"userId": user_id}
    if token is not None:
        user["accessToken"] = token
    request: dict[str, Any] = {
        "type": request_type,
        "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
        "timestamp": stamp,
        "locale": locale,
    }
    if intent is not None and request_type in ("IntentRequest", "CanFulfillIntentRequest"):
        request["intent"] = {"name": intent, "confirmationStatus": confirmation, "slots": dict(slots or {})}
        if request_type == "IntentRequest":
            request["dialogState"] = "STARTED"
    request.update(extra_request or {})
    return {
        "version": "1.0",
        "session": {
            "new": True,
            "sessionId": "amzn1.echo-api.session.TEST",
            "application": {"applicationId": skill_id},
            "attributes": {},
            "user": dict(user),
        },
        "context": {
            "System": {
                "application": {"applicationId": skill_id},
                "user": user,
                "device": {"deviceId": "amzn1.ask.device.TEST", "supportedInterfaces": {}},
                "apiEndpoint": api_endpoint,
                "apiAccessToken": api_access_token,
            }
        },
        "request": request,
    }


def er_slot(name: str, words: str, value_id: str | None, *, status: str = "ER_SUCCESS_MATCH") -> dict[str, Any]:
    slot: dict[str, Any] = {"name": name, "value": words, "confirmationStatus": "NONE"}
    if value_id is not None:
        slot["resolutions"] = {
            "resolutionsPerAuthority": [
                {
                    "authority": f"amzn1.er-authority.echo-sdk.{SKILL_ID}.X",
                    "status": {"code": status},
                    "values": [{"value": {"name": words, "id": value_id}}],
                }
            ]
        }
    return slot


def signed(envelope: Mapping[str, Any], key: rsa.RSAPrivateKey, *, url: str = CERT_URL) -> tuple[dict[str, str], bytes]:
    body = json.dumps(envelope, separators=(",", ":")).encode()
    return {"SignatureCertChainUrl": url, "Signature-256": sign(key, body), "Content-Type": "application/json"}, body


# ------------------------------------------------------------------------------------------ schema checks
def alexa_schema_roundtrip(body: Mapping[str, Any], model: str = "ask_sdk_model.ResponseEnvelope") -> Any:
    """Deserialize with ask-sdk-model and serialize back: unknown keys or wrong types would not survive."""
    from ask_sdk_core.serialize import DefaultSerializer

    serializer = DefaultSerializer()
    obj = serializer.deserialize(json.dumps(body), model)
    again = serializer.serialize(obj)
    assert again == json.loads(json.dumps(body)), f"not valid per {model}: {again} != {body}"
    return obj


def alexa_request_model(envelope: Mapping[str, Any]) -> Any:
    """Deserialize a built request with ask-sdk-model (so the builders stay realistic)."""
    from ask_sdk_core.serialize import DefaultSerializer

    obj = DefaultSerializer().deserialize(json.dumps(envelope), "ask_sdk_model.RequestEnvelope")
    assert obj.request.object_type == envelope["request"]["type"]
    assert (
        obj.context.system.application.application_id == envelope["context"]["System"]["application"]["applicationId"]
    )
    return obj


# ------------------------------------------------------------------------------------------ Google
GOOGLE_PROJECT = "omniops-test-project"
GOOGLE_KID = "test-kid-1"


def google_key_and_cert() -> tuple[rsa.RSAPrivateKey, bytes]:
    """A signing key and its self-signed PEM certificate, served as Google's ``{kid: cert}`` certs JSON."""
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.google.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


def google_token(
    key: rsa.RSAPrivateKey, *, aud: str = GOOGLE_PROJECT, exp_in: int = 120, iss: str = "https://accounts.google.com"
) -> str:
    """A ``google-assistant-signature`` JWT (RS256, kid header) as Google signs it."""
    import time

    import jwt

    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "iat": now, "nbf": now, "exp": now + exp_in, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": GOOGLE_KID})
