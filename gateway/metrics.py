"""A small Prometheus text-format registry: request counters and latency histograms per process."""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 8.0)


class Metrics:
    """Thread-safe counters and histograms rendered in the Prometheus exposition format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self._hist: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}
        self._help: dict[str, tuple[str, str]] = {}

    def inc(self, name: str, help_text: str, amount: float = 1.0, **labels: str) -> None:
        with self._lock:
            self._help.setdefault(name, ("counter", help_text))
            self._counters[(name, tuple(sorted(labels.items())))] += amount

    def observe(self, name: str, help_text: str, value: float, **labels: str) -> None:
        with self._lock:
            self._help.setdefault(name, ("histogram", help_text))
            key = (name, tuple(sorted(labels.items())))
            row = self._hist.setdefault(key, [0.0] * (len(BUCKETS) + 2))
            for i, bound in enumerate(BUCKETS):
                if value <= bound:
                    row[i] += 1
            row[-2] += 1  # count
            row[-1] += value  # sum

    def render(self) -> str:
        out: list[str] = []
        with self._lock:
            for name, (kind, help_text) in sorted(self._help.items()):
                out.append(f"# HELP {name} {help_text}")
                out.append(f"# TYPE {name} {kind}")
                if kind == "counter":
                    for (n, labels), value in sorted(self._counters.items()):
                        if n == name:
                            out.append(f"{name}{_labels(labels)} {value:g}")
                else:
                    for (n, labels), row in sorted(self._hist.items()):
                        if n != name:
                            continue
                        for i, bound in enumerate(BUCKETS):
                            out.append(f"{name}_bucket{_labels((*labels, ('le', f'{bound:g}')))} {row[i]:g}")
                        out.append(f"{name}_bucket{_labels((*labels, ('le', '+Inf')))} {row[-2]:g}")
                        out.append(f"{name}_count{_labels(labels)} {row[-2]:g}")
                        out.append(f"{name}_sum{_labels(labels)} {row[-1]:g}")
        return "\n".join(out) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for k, v in labels)
    return "{" + inner + "}"
