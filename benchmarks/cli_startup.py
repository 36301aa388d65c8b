"""Start-up time of the command line: ``ff-neuro --help`` and every command's ``--help``, the
median of ``--repeats`` fresh processes each (torch, Lava and matplotlib load only when a
command runs). Writes ``benchmarks/results/cli_startup.json``. Usage::

    .venv/bin/python benchmarks/cli_startup.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

from ff_neuro.fileio import write_json  # noqa: E402


def seconds(args, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ff_neuro.cli"] + args, check=True,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=str(RESULTS / "cli_startup.json"))
    args = ap.parse_args()
    from ff_neuro.cli import main as cli
    rows = {"--help": seconds(["--help"], args.repeats)}
    for name in sorted(cli.commands):
        rows[f"{name} --help"] = seconds([name, "--help"], args.repeats)
    out = {"machine": machine(), "python": sys.version.split()[0], "repeats": args.repeats,
           "median_seconds": rows, "max_seconds": max(rows.values()),
           "command": f".venv/bin/python benchmarks/cli_startup.py --repeats {args.repeats}"}
    write_json(args.out, out)
    for k, v in rows.items():
        print(f"{k:<22} {v:.2f} s")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
