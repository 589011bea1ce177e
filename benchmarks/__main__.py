"""Run benchmarks and assemble BENCHMARKS.md from their fragments.

python -m benchmarks            # every *_bench.py, then BENCHMARKS.md
python -m benchmarks executor   # only executor_bench.py, then BENCHMARKS.md
python -m benchmarks --collect  # only rebuild BENCHMARKS.md from benchmarks/results/*.md
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from benchmarks.common import RESULTS

ROOT = Path(__file__).resolve().parent
OUT = ROOT.parent / "BENCHMARKS.md"
HEADER = """# Benchmarks

Every figure below was measured by a script in `benchmarks/`, on the machine named in its section, and each
compares against a baseline measured in the same run (the ratio is the figure that travels between machines).
Run them all with `make bench` (or `python -m benchmarks`); one with `python -m benchmarks NAME`.
"""


def collect() -> Path:
    sections = [p.read_text().strip() for p in sorted(RESULTS.glob("*.md"))]
    OUT.write_text(HEADER + "\n" + "\n\n".join(sections) + "\n")
    return OUT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="benchmark names (file stems without _bench)")
    parser.add_argument("--collect", action="store_true", help="only rebuild BENCHMARKS.md")
    args = parser.parse_args(argv)
    if not args.collect:
        names = args.names or sorted(p.stem.removesuffix("_bench") for p in ROOT.glob("*_bench.py"))
        for name in names:
            print(f"== benchmark {name}", flush=True)
            module = importlib.import_module(f"benchmarks.{name}_bench")
            rc = module.main([])
            if rc:
                return int(rc)
    print(f"wrote {collect()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
