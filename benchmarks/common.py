"""Helpers every benchmark shares: machine description, percentiles, writing a results fragment."""

from __future__ import annotations

import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    """One line naming the machine, OS, Python and date the figures were measured on."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.node() or 'host'}: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (0–100) by nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def write_fragment(name: str, title: str, body: str, *, command: str) -> Path:
    """Write ``benchmarks/results/<name>.md``: a section of BENCHMARKS.md."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(f"## {title}\n\nMachine: {machine()}  \nReproduce: `{command}`\n\n{body.strip()}\n")
    return path
