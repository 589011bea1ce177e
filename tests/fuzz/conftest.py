"""Fixtures and the end-of-session report for the fuzz suite (inputs tried per target, failures)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fuzz.world import TRIED, FuzzWorld, fuzz_world

REPRODUCE = "OMNIOPS_FUZZ_EXAMPLES=2000 /work/venv/bin/python -m pytest tests/fuzz -q"


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
    terminalreporter.write_line(f"fuzz total: {sum(TRIED.values())} inputs, {len(failed)} failing tests")
    if os.environ.get("OMNIOPS_FUZZ_EXAMPLES"):
        from benchmarks.common import write_fragment

        rows = "\n".join(f"| {target} | {n} |" for target, n in sorted(TRIED.items()))
        body = (
            f"Examples per property: {os.environ['OMNIOPS_FUZZ_EXAMPLES']} (short CI run: the defaults in "
            "`tests/fuzz`). Properties: no 5xx; no consent request, run or queued message from an invalid or "
            "unauthenticated request; no secret (owner tokens, vault root key, app secret key, Twilio auth token, "
            "vault-held consumer secret) in any response; SSML escapes slot and catalog text.\n\n"
            "| Target | Inputs tried |\n|---|---|\n"
            f"{rows}\n| **total** | **{sum(TRIED.values())}** |\n\n"
            f"Failures found: {len(failed)}\n"
        )
        path = write_fragment("fuzz", "Fuzzing: bad inputs tried", body, command=REPRODUCE)
        terminalreporter.write_line(f"fuzz report written to {path}")
