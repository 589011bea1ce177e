"""Alexa request verification end to end: test CA, certificate served over real local HTTP via the mirror."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.commands import AuthLevel, Command, Principal, Reply, ResponseType
from core.errors import AuthenticationRequired, ConfigurationError, VerificationFailed
from tests.voice_testkit import (
    SKILL_ID,
    LocalServer,
    Pki,
    alexa_envelope,
    local_server,
    make_ca,
    make_leaf,
    make_pki,
    pem,
    sign,
    signed,
)
from voice.alexa import AlexaAdapter, AlexaVerifier, HttpCertFetcher, build_alexa_adapter, load_trust_roots

CERT_PATH = "/echo.api/echo-api-cert-test.pem"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture(scope="module")
def server(pki: Pki) -> Iterator[LocalServer]:
    with local_server() as srv:
        srv.route("GET", CERT_PATH, 200, pki.chain_pem, "application/x-pem-file")
        yield srv


@pytest.fixture
def bundle(tmp_path: Path, pki: Pki) -> Path:
    path = tmp_path / "alexa-ca.pem"
    path.write_bytes(pem(pki.root.cert))
    return path


@pytest.fixture
def verifier(server: LocalServer, bundle: Path) -> AlexaVerifier:
    return AlexaVerifier(
        skill_id=SKILL_ID,
        fetcher=HttpCertFetcher(cert_mirror=server.base_url, env="test"),
        trust_roots=load_trust_roots(extra_bundle=bundle),
    )


class RecordingBus:
    def __init__(self) -> None:
        self.commands: list[Command] = []

    def __call__(self, command: Command) -> Reply:
        self.commands.append(command)
        return Reply(
            text="I'm setting up your store now. I'll text you when it's done.",
            response_type=ResponseType.ACTION_STARTED,
            intent=command.intent,
            run_id="run_1",
        )


def resolver(token: str | None) -> Principal:
    if token == "good-token":
        return Principal(owner_id="own_1", auth=AuthLevel.LINKED)
    raise AuthenticationRequired("unknown token")


def test_valid_request_passes_and_is_handled(server: LocalServer, bundle: Path, pki: Pki) -> None:
    adapter = build_alexa_adapter(skill_id=SKILL_ID, ca_bundle=bundle, cert_mirror=server.base_url, progressive=False)
    headers, body = signed(alexa_envelope(), pki.leaf.key)
    bus = RecordingBus()
    out = adapter.handle(headers, body, bus_handle=bus, resolve_owner=resolver)
    assert [c.intent for c in bus.commands] == ["setup_store"]
    assert bus.commands[0].principal.external_user_id == "amzn1.ask.account.TESTUSER"
    assert out["response"]["shouldEndSession"] is True
    assert "setting up your store" in out["response"]["outputSpeech"]["ssml"]


def test_verify_returns_envelope_and_caches_certificate(verifier: AlexaVerifier, server: LocalServer, pki: Pki) -> None:
    before = len(server.hits(CERT_PATH))
    for _ in range(3):
        headers, body = signed(alexa_envelope(), pki.leaf.key)
        assert verifier.verify(headers, body)["request"]["type"] == "IntentRequest"
    assert len(server.hits(CERT_PATH)) - before == 1


def test_header_names_are_case_insensitive(verifier: AlexaVerifier, pki: Pki) -> None:
    headers, body = signed(alexa_envelope(), pki.leaf.key)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert verifier.verify(lowered, body)["version"] == "1.0"


def test_traversal_back_into_echo_api_is_allowed(verifier: AlexaVerifier, pki: Pki) -> None:
    url = "https://S3.AMAZONAWS.COM:443/echo.api/../echo.api/echo-api-cert-test.pem"
    headers, body = signed(alexa_envelope(), pki.leaf.key, url=url)
    assert verifier.verify(headers, body)["request"]["type"] == "IntentRequest"


def test_skill_event_allows_one_hour(verifier: AlexaVerifier, pki: Pki) -> None:
    old = datetime.now(UTC) - timedelta(seconds=3000)
    env = alexa_envelope(request_type="AlexaSkillEvent.SkillPermissionAccepted", intent=None, timestamp=old)
    headers, body = signed(env, pki.leaf.key)
    assert verifier.verify(headers, body)["request"]["type"].startswith("AlexaSkillEvent.")


# ------------------------------------------------------------------------------------------ forgeries
def _other_chain(pki: Pki, **leaf_kw: Any) -> tuple[bytes, Any]:
    leaf = make_leaf(pki.intermediate, **leaf_kw)
    return pem(leaf.cert, pki.intermediate.cert), leaf.key


Forgery = Callable[[Pki, LocalServer], tuple[dict[str, str], bytes]]


def _url(url: str) -> Forgery:
    def build(pki: Pki, server: LocalServer) -> tuple[dict[str, str], bytes]:
        return signed(alexa_envelope(), pki.leaf.key, url=url)

    return build


def _served(name: str, chain: Callable[[Pki], tuple[bytes, Any]]) -> Forgery:
    def build(pki: Pki, server: LocalServer) -> tuple[dict[str, str], bytes]:
        data, key = chain(pki)
        server.route("GET", f"/echo.api/{name}.pem", 200, data)
        return signed(alexa_envelope(), key, url=f"https://s3.amazonaws.com/echo.api/{name}.pem")

    return build


def _expired(pki: Pki) -> tuple[bytes, Any]:
    now = datetime.now(UTC)
    return _other_chain(pki, not_before=now - timedelta(days=60), not_after=now - timedelta(days=1))


def _not_yet(pki: Pki) -> tuple[bytes, Any]:
    now = datetime.now(UTC)
    return _other_chain(pki, not_before=now + timedelta(days=1), not_after=now + timedelta(days=60))


def _untrusted(pki: Pki) -> tuple[bytes, Any]:
    rogue_root = make_ca("Rogue Root")
    rogue_inter = make_ca("Rogue Intermediate", parent=rogue_root)
    leaf = make_leaf(rogue_inter)
    return pem(leaf.cert, rogue_inter.cert), leaf.key


def _self_signed_leaf(pki: Pki) -> tuple[bytes, Any]:
    rogue = make_ca("echo-api.amazon.com")
    leaf = make_leaf(rogue)
    return pem(leaf.cert), leaf.key


def _missing_intermediate(pki: Pki) -> tuple[bytes, Any]:
    return pem(pki.leaf.cert), pki.leaf.key


def _bad_signature(pki: Pki, server: LocalServer) -> tuple[dict[str, str], bytes]:
    headers, body = signed(alexa_envelope(), pki.leaf.key)
    other = make_leaf(pki.intermediate)  # a different key signs the same body
    headers["Signature-256"] = sign(other.key, body)
    return headers, body


def _tampered(pki: Pki, server: LocalServer) -> tuple[dict[str, str], bytes]:
    headers, body = signed(alexa_envelope(), pki.leaf.key)
    return headers, body.replace(b"SetupStoreIntent", b"DeleteDataIntent")


def _reserialized(pki: Pki, server: LocalServer) -> tuple[dict[str, str], bytes]:
    headers, body = signed(alexa_envelope(), pki.leaf.key)
    return headers, json.dumps(json.loads(body), indent=2).encode()


def _without(header: str) -> Forgery:
    def build(pki: Pki, server: LocalServer) -> tuple[dict[str, str], bytes]:
        headers, body = signed(alexa_envelope(), pki.leaf.key)
        del headers[header]
        return headers, body

    return build


def _sha1_only(pki: Pki, server: LocalServer) -> tuple[dict[str, str], bytes]:
    headers, body = signed(alexa_envelope(), pki.leaf.key)
    headers["Signature"] = headers.pop("Signature-256")
    return headers, body


def _not_base64(pki: Pki, server: LocalServer) -> tuple[dict[str, str], bytes]:
    headers, body = signed(alexa_envelope(), pki.leaf.key)
    headers["Signature-256"] = "***not base64***"
    return headers, body


def _stamp(seconds: int, request_type: str = "IntentRequest") -> Forgery:
    def build(pki: Pki, server: LocalServer) -> tuple[dict[str, str], bytes]:
        when = datetime.now(UTC) + timedelta(seconds=seconds)
        intent = "SetupStoreIntent" if request_type == "IntentRequest" else None
        return signed(alexa_envelope(timestamp=when, request_type=request_type, intent=intent), pki.leaf.key)

    return build


def _no_timestamp(pki: Pki, server: LocalServer) -> tuple[dict[str, str], bytes]:
    env = alexa_envelope()
    del env["request"]["timestamp"]
    return signed(env, pki.leaf.key)


def _skill(skill_id: str) -> Forgery:
    def build(pki: Pki, server: LocalServer) -> tuple[dict[str, str], bytes]:
        return signed(alexa_envelope(skill_id=skill_id), pki.leaf.key)

    return build


def _cert_404(pki: Pki, server: LocalServer) -> tuple[dict[str, str], bytes]:
    return signed(alexa_envelope(), pki.leaf.key, url="https://s3.amazonaws.com/echo.api/missing.pem")


FORGERIES: dict[str, Forgery] = {
    "http scheme": _url("http://s3.amazonaws.com/echo.api/echo-api-cert-test.pem"),
    "ftp scheme": _url("ftp://s3.amazonaws.com/echo.api/echo-api-cert-test.pem"),
    "bad host": _url("https://notamazon.com/echo.api/echo-api-cert-test.pem"),
    "host suffix trick": _url("https://s3.amazonaws.com.evil.example/echo.api/echo-api-cert-test.pem"),
    "bad path case": _url("https://s3.amazonaws.com/EcHo.aPi/echo-api-cert-test.pem"),
    "path outside echo.api": _url("https://s3.amazonaws.com/other/echo-api-cert-test.pem"),
    "path traversal": _url("https://s3.amazonaws.com/echo.api/../x"),
    "encoded traversal": _url("https://s3.amazonaws.com/echo.api/%2e%2e/x.pem"),
    "bad port": _url("https://s3.amazonaws.com:563/echo.api/echo-api-cert-test.pem"),
    "certificate not found": _cert_404,
    "expired cert": _served("expired", _expired),
    "cert not yet valid": _served("future", _not_yet),
    "wrong SAN": _served("wrong-san", lambda p: _other_chain(p, san="echo-api.evil.example")),
    "untrusted root": _served("untrusted", _untrusted),
    "self-signed end cert": _served("self-signed", _self_signed_leaf),
    "missing intermediate": _served("no-intermediate", _missing_intermediate),
    "not PEM": _served("garbage", lambda p: (b"not a certificate", p.leaf.key)),
    "bad signature": _bad_signature,
    "signature not base64": _not_base64,
    "tampered body": _tampered,
    "re-serialized body": _reserialized,
    "missing Signature-256": _without("Signature-256"),
    "missing SignatureCertChainUrl": _without("SignatureCertChainUrl"),
    "SHA-1 Signature only": _sha1_only,
    "stale timestamp 151 s": _stamp(-151),
    "future timestamp 160 s": _stamp(160),
    "skill event older than an hour": _stamp(-3700, "AlexaSkillEvent.SkillEnabled"),
    "missing timestamp": _no_timestamp,
    "wrong skill id": _skill("amzn1.ask.skill.99999999-2222-3333-4444-555555555555"),
    "skill id prefix": _skill(SKILL_ID[:-1]),
    "skill id superstring": _skill(SKILL_ID + "0"),
}

#: Each forgery must fail for its own reason, not by accident of another rule.
REASONS: dict[str, str] = {
    "http scheme": "https",
    "ftp scheme": "https",
    "bad host": "host",
    "host suffix trick": "host",
    "bad path case": "path",
    "path outside echo.api": "path",
    "path traversal": "path",
    "encoded traversal": "path",
    "bad port": "port",
    "certificate not found": "download",
    "expired cert": "not valid at this time",
    "cert not yet valid": "not valid at this time",
    "wrong SAN": "echo-api.amazon.com",
    "untrusted root": "trusted root",
    "self-signed end cert": "trusted root",
    "missing intermediate": "trusted root",
    "not PEM": "PEM",
    "bad signature": "does not match",
    "signature not base64": "base64",
    "tampered body": "does not match",
    "re-serialized body": "does not match",
    "missing Signature-256": "missing Signature-256",
    "missing SignatureCertChainUrl": "missing SignatureCertChainUrl",
    "SHA-1 Signature only": "missing Signature-256",
    "stale timestamp 151 s": "timestamp",
    "future timestamp 160 s": "timestamp",
    "skill event older than an hour": "timestamp",
    "missing timestamp": "timestamp",
    "wrong skill id": "skill id",
    "skill id prefix": "skill id",
    "skill id superstring": "skill id",
}


@pytest.mark.parametrize("name", list(FORGERIES))
def test_forgery_is_rejected_with_400_and_nothing_reaches_the_bus(
    name: str, pki: Pki, server: LocalServer, bundle: Path
) -> None:
    headers, body = FORGERIES[name](pki, server)
    adapter = build_alexa_adapter(skill_id=SKILL_ID, ca_bundle=bundle, cert_mirror=server.base_url, progressive=False)
    bus = RecordingBus()
    with pytest.raises(VerificationFailed, match=REASONS[name]) as err:
        adapter.handle(headers, body, bus_handle=bus, resolve_owner=resolver)
    assert err.value.status == 400
    assert bus.commands == []


def test_every_forgery_has_a_reason() -> None:
    assert set(REASONS) == set(FORGERIES)
    assert len(FORGERIES) >= 12


def test_stale_replay_of_a_once_valid_request_fails(verifier: AlexaVerifier, pki: Pki) -> None:
    headers, body = signed(alexa_envelope(), pki.leaf.key)
    assert verifier.verify(headers, body)
    later = AlexaVerifier(
        skill_id=SKILL_ID,
        fetcher=verifier._fetcher,
        trust_roots=[pki.root.cert],
        clock=lambda: datetime.now(UTC) + timedelta(seconds=151),
    )
    with pytest.raises(VerificationFailed, match="timestamp"):
        later.verify(headers, body)


def test_cached_certificate_is_rechecked_for_expiry(pki: Pki, server: LocalServer) -> None:
    now = datetime.now(UTC)
    leaf = make_leaf(pki.intermediate, not_after=now + timedelta(minutes=10))
    server.route("GET", "/echo.api/short.pem", 200, pem(leaf.cert, pki.intermediate.cert))
    clock = {"now": now}
    v = AlexaVerifier(
        skill_id=SKILL_ID,
        fetcher=HttpCertFetcher(cert_mirror=server.base_url),
        trust_roots=[pki.root.cert],
        clock=lambda: clock["now"],
    )
    url = "https://s3.amazonaws.com/echo.api/short.pem"
    headers, body = signed(alexa_envelope(timestamp=now), leaf.key, url=url)
    assert v.verify(headers, body)
    clock["now"] = now + timedelta(minutes=11)
    headers, body = signed(alexa_envelope(timestamp=clock["now"]), leaf.key, url=url)
    with pytest.raises(VerificationFailed, match="not valid at this time"):
        v.verify(headers, body)


def test_mirror_is_refused_in_production(server: LocalServer) -> None:
    with pytest.raises(ConfigurationError):
        HttpCertFetcher(cert_mirror=server.base_url, env="production")


def test_missing_skill_id_is_a_configuration_error(pki: Pki) -> None:
    with pytest.raises(ConfigurationError):
        AlexaVerifier(skill_id="", fetcher=HttpCertFetcher(), trust_roots=[pki.root.cert])


def test_unlinked_user_gets_link_account_card(verifier: AlexaVerifier, pki: Pki) -> None:
    adapter = AlexaAdapter(verifier=verifier)
    bus = RecordingBus()
    for token in (None, "revoked-token"):
        headers, body = signed(alexa_envelope(token=token), pki.leaf.key)
        out = adapter.handle(headers, body, bus_handle=bus, resolve_owner=resolver)
        assert out["response"]["card"] == {"type": "LinkAccount"}
        assert "link your OmniOps account" in out["response"]["outputSpeech"]["ssml"]
    assert bus.commands == []


def test_skill_event_is_passed_to_callback(verifier: AlexaVerifier, pki: Pki) -> None:
    seen = []
    adapter = AlexaAdapter(verifier=verifier, on_skill_event=seen.append)
    env = alexa_envelope(
        request_type="AlexaSkillEvent.SkillPermissionAccepted",
        intent=None,
        extra_request={"body": {"acceptedPermissions": [{"scope": "alexa::devices:all:notifications:write"}]}},
    )
    headers, body = signed(env, pki.leaf.key)
    out = adapter.handle(headers, body, bus_handle=RecordingBus(), resolve_owner=resolver)
    assert out == {"version": "1.0", "response": {}}
    assert seen[0].accepted_scopes == ("alexa::devices:all:notifications:write",)
    assert seen[0].user_id == "amzn1.ask.account.TESTUSER"


def test_bus_error_is_spoken_as_valid_alexa_response(verifier: AlexaVerifier, pki: Pki) -> None:
    from core.errors import ProviderRetryable
    from tests.voice_testkit import alexa_schema_roundtrip

    def failing(command: Command) -> Reply:
        raise ProviderRetryable("queue down")

    headers, body = signed(alexa_envelope(locale="de-DE"), pki.leaf.key)
    out = AlexaAdapter(verifier=verifier).handle(headers, body, bus_handle=failing, resolve_owner=resolver)
    alexa_schema_roundtrip(out)
    assert "schiefgelaufen" in out["response"]["outputSpeech"]["ssml"]
