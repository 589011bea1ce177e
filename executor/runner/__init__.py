"""The runner: executes one claimed run, step by step (or DAG), crash-safely.

``drive.py`` (claim, heartbeat, steps, retries), ``endings.py`` (success, cancel, failure, compensation),
``base.py`` (dependencies, consent check, step context, events, audit), ``outcomes.py`` (outcomes, heartbeat).
"""

from __future__ import annotations

from executor.runner.drive import Runner

__all__ = ["Runner"]
