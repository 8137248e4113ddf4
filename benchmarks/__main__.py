"""Run every benchmark and write benchmarks/BENCHMARKS.md with its charts.

    python -m benchmarks            # the full run (about 40 minutes on 2 cores)
    python -m benchmarks --quick    # every section, tiny sizes (a couple of minutes)
    python -m benchmarks --only conv  # one section; the report keeps the others' last results
"""

import argparse
import datetime
import importlib
import inspect
import time
from pathlib import Path

from benchmarks import machine

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ["results", "conv", "notebooks", "grading", "install", "homework", "hub"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the tests")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    charts = args.out.parent / "charts"
    sections = args.out.parent / "sections"  # each section's Markdown, kept between runs
    charts.mkdir(parents=True, exist_ok=True)
    sections.mkdir(exist_ok=True)
    for name in args.only or SECTIONS:
        module = importlib.import_module(f"benchmarks.{name}")
        kwargs = {"root": ROOT} if "root" in inspect.signature(module.run).parameters else {}
        start = time.perf_counter()
        text = module.run(args.quick, charts, **kwargs)
        (sections / f"{name}.md").write_text(text)
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    parts = [(sections / f"{n}.md").read_text() for n in SECTIONS
             if (sections / f"{n}.md").exists()]
    header = [
        "# Benchmarks" + (" (quick mode: tiny sizes, not the real figures)" if args.quick else ""),
        f"Written by `python -m benchmarks{' --quick' if args.quick else ''}` on "
        f"{datetime.date.today().isoformat()}. {machine.describe()} Medians over repeated runs "
        "where a time is compared; the machine is shared and noisy, so read ratios measured in "
        "the same run rather than absolute seconds.",
    ]
    args.out.write_text("\n\n".join(header + parts) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
