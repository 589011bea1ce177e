"""Fixtures and the end-of-session report for the fuzz suite (inputs tried per target, failures)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fuzz.world import ACCEPTED, TRIED, FuzzWorld, fuzz_world

REPRODUCE = "OMNIOPS_FUZZ_EXAMPLES={n} /work/venv/bin/python -m pytest tests/fuzz -q"


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzWorld]:
    with fuzz_world(tmp_path_factory.mktemp("fuzz")) as w:
        yield w


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """One line per target; with ``OMNIOPS_FUZZ_EXAMPLES`` set, also write ``benchmarks/results/fuzz.md``."""
    if not TRIED:
        return
    failed = [
        r for r in terminalreporter.stats.get("failed", []) if str(getattr(r, "nodeid", "")).startswith("tests/fuzz")
    ]
    terminalreporter.section("fuzz: inputs tried")
    for target, n in sorted(TRIED.items()):
        terminalreporter.write_line(f"fuzz {target}: {n} inputs tried")
    terminalreporter.write_line(f"fuzz total: {_total()} inputs, {len(failed)} failing tests")
    if os.environ.get("OMNIOPS_FUZZ_EXAMPLES"):
        from benchmarks.common import write_fragment

        path = write_fragment(
            "fuzz",
            "Fuzzing: bad inputs tried",
            _report(len(failed)),
            command=REPRODUCE.format(n=os.environ["OMNIOPS_FUZZ_EXAMPLES"]),
        )
        terminalreporter.write_line(f"fuzz report written to {path}")


def _total() -> int:
    return sum(n for target, n in TRIED.items() if ACCEPTED not in target)


def _report(failures: int) -> str:
    """The markdown body: per channel target and for the OpenAPI run as a whole, then per operation."""
    groups: dict[str, list[int]] = {}
    operations: list[str] = []
    for target, n in sorted(TRIED.items()):
        name = target.replace(ACCEPTED, "").strip()
        group = "openapi (every operation)" if name.startswith("openapi ") else name
        row = groups.setdefault(group, [0, 0])
        row[1 if ACCEPTED in target else 0] += n
        if name.startswith("openapi ") and ACCEPTED not in target:
            operations.append(f"| `{name.removeprefix('openapi ')}` | {n} |")
    rows = "\n".join(
        f"| {g} | {tried} | {ok if not g.startswith('openapi') else '–'} |" for g, (tried, ok) in groups.items()
    )
    return (
        f"Examples per property: {os.environ['OMNIOPS_FUZZ_EXAMPLES']} (the short CI run uses the defaults in "
        "`tests/fuzz`). Properties: no 5xx; no consent request, run or queued message from an invalid or "
        "unauthenticated request; no secret (owner tokens, vault root key material, app secret key, Twilio auth "
        "token, a vault-held consumer secret) in any response; Alexa/Google speech is SSML with text only.\n\n"
        "| Target | Inputs tried | Accepted (reached the handlers) |\n|---|---|---|\n"
        f"{rows}\n| **total** | **{_total()}** | |\n\n"
        f"Failures found: {failures}\n\n"
        "OpenAPI operations (positive + negative generation; operations without inputs run once):\n\n"
        "| Operation | Inputs |\n|---|---|\n" + "\n".join(operations) + "\n"
    )
