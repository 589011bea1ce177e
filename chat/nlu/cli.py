"""``omniops parse "TEXT" [--locale en-US]``: print what the embedded rule parser understood, as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from .rules import RuleParser


def main_parse(text: str, locale: str = "en-US", *, out: TextIO | None = None) -> int:
    """Print ``{"intent": …, "params": {…}}`` for ``text`` (rule parser, no network); returns exit code 0."""
    result = RuleParser().parse(text, locale=locale)
    print(json.dumps(result.as_json()), file=out or sys.stdout)
    return 0


def _run(args: argparse.Namespace) -> int:
    return main_parse(args.text, args.locale)


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``parse`` command to an ``argparse`` sub-command table; ``args.func(args)`` runs it."""
    cmd = subparsers.add_parser(
        "parse",
        help="show the intent and params the embedded NLU reads from TEXT (no network)",
        description='Print {"intent": ..., "params": {...}} as JSON, using the rule parser.',
    )
    cmd.add_argument("text", help="what the owner said or typed, in quotes")
    cmd.add_argument("--locale", default="en-US", help="the owner's locale: de-* reads German (default: en-US)")
    cmd.set_defaults(func=_run)
    return cmd
