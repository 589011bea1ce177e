"""Generate and check ``skill_manifests/`` from the intent registry (``omniops manifests build|check``).

Generated (never edit by hand): ``alexa/skill-package/skill.json``, ``alexa/skill-package/accountLinking.json``,
``alexa/skill-package/interactionModels/custom/<locale>.json`` for en-US, en-GB, en-CA, en-AU, en-IN and de-DE,
the Actions Builder project under ``google/``, and ``siri/shortcut.json``.
Hand-written (ignored by ``check``): every ``README.md``.
English words come from ``core/intents.py``; other languages from ``voice/locales/<locale>.json``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core import intents
from voice.manifests.alexa import account_linking_json, interaction_model, skill_json
from voice.manifests.common import ALEXA_LOCALES, DEFAULT_PUBLIC_URL, json_text
from voice.manifests.google import project_files
from voice.manifests.siri import shortcut_json

__all__ = ["DEFAULT_PUBLIC_URL", "build", "check", "generate", "register_cli"]

GENERATED_ROOTS = ("alexa", "google", "siri/shortcut.json")


def generate(public_url: str, *, registry: Mapping[str, intents.IntentSpec] | None = None) -> dict[str, str]:
    """Every generated file: relative path under ``skill_manifests/`` → text."""
    reg = intents.INTENTS if registry is None else registry
    files = {
        "alexa/skill-package/skill.json": json_text(skill_json(public_url)),
        "alexa/skill-package/accountLinking.json": json_text(account_linking_json(public_url)),
    }
    for locale in ALEXA_LOCALES:
        path = f"alexa/skill-package/interactionModels/custom/{locale}.json"
        files[path] = json_text(interaction_model(locale, reg))
    files.update({f"google/{k}": v for k, v in project_files(public_url, reg).items()})
    files["siri/shortcut.json"] = json_text(shortcut_json(public_url, reg))
    return dict(sorted(files.items()))


def _on_disk(out_dir: Path) -> set[str]:
    found: set[str] = set()
    for root in GENERATED_ROOTS:
        path = out_dir / root
        if path.is_file():
            found.add(root)
        elif path.is_dir():
            found.update(
                p.relative_to(out_dir).as_posix() for p in path.rglob("*") if p.is_file() and p.name != "README.md"
            )
    return found


def build(
    out_dir: str | Path,
    public_url: str = DEFAULT_PUBLIC_URL,
    *,
    registry: Mapping[str, intents.IntentSpec] | None = None,
) -> list[Path]:
    """Write every generated file under ``out_dir`` and delete stale generated ones; returns the paths written."""
    out = Path(out_dir)
    files = generate(public_url, registry=registry)
    for stale in _on_disk(out) - set(files):
        (out / stale).unlink()
    written = []
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def check(
    out_dir: str | Path,
    public_url: str = DEFAULT_PUBLIC_URL,
    *,
    registry: Mapping[str, intents.IntentSpec] | None = None,
) -> list[str]:
    """Differences between ``out_dir`` and what the registry generates; empty when up to date."""
    out = Path(out_dir)
    files = generate(public_url, registry=registry)
    problems = [f"missing: {rel}" for rel in files if not (out / rel).is_file()]
    problems += [
        f"differs: {rel}"
        for rel, text in files.items()
        if (out / rel).is_file() and (out / rel).read_text(encoding="utf-8") != text
    ]
    problems += [f"not generated (stale): {rel}" for rel in sorted(_on_disk(out) - set(files))]
    return problems


def register_cli(subparsers: Any) -> None:
    """Add ``manifests build|check`` to the ``omniops`` CLI (``subparsers`` from ``add_subparsers()``)."""
    parser = subparsers.add_parser("manifests", help="generate or verify skill_manifests/ from the intent registry")
    parser.add_argument("action", choices=("build", "check"))
    parser.add_argument("--out", default="skill_manifests", help="output folder (default: skill_manifests)")
    parser.add_argument(
        "--public-url", default=None, help=f"public base URL (default: OMNIOPS_PUBLIC_URL or {DEFAULT_PUBLIC_URL})"
    )
    parser.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace, *, public_url: str | None = None) -> int:
    """Run ``manifests build|check``; returns the exit code (1 when ``check`` finds differences)."""
    url = args.public_url or public_url or DEFAULT_PUBLIC_URL
    if args.action == "build":
        paths = build(args.out, url)
        print(f"wrote {len(paths)} files under {args.out}")
        return 0
    problems = check(args.out, url)
    for line in problems:
        print(line)
    if problems:
        print("skill_manifests/ is out of date: run `omniops manifests build` and commit the result")
        return 1
    print("skill_manifests/ is up to date")
    return 0
