"""Seed replicates of one ``ff_fashion.py`` recipe: per-run scores, their mean and spread, and how
many runs reach the accuracy target.

A single 10,000-image test score has a standard error of ~0.29 pp, and runs of one recipe with
other seeds differ by about as much, so a target met by one run is not met reliably. This script
reads the result JSONs of ``ff_fashion.py`` runs, refuses runs of different recipes (anything but
the seeds and the epochs the budget allowed must match: the members' configs and
``--member-args``, the budget ``--minutes``), and writes one JSON::

    .venv/bin/python benchmarks/ff_replicates.py benchmarks/results/ff_fashion.json \\
        benchmarks/results/ff_fashion_lc7_lc11_250_seed*_60min.json \\
        --target 0.905 --out benchmarks/results/ff_fashion_replicates.json
"""
from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
from pathlib import Path
from typing import List, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

from ff_neuro.fileio import write_json  # noqa: E402

#: config keys that may differ between replicates of one recipe
VARYING = ("seed", "epochs")


def _budget_minutes(command: str) -> float | None:
    """``--minutes`` of an ``ff_fashion.py`` command line (None if it names none)."""
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--minutes", type=float)
    return ap.parse_known_args(shlex.split(command or ""))[0].minutes


def recipe(run: dict) -> dict:
    """What must be equal for two runs to be replicates: each member's config without its seed
    and epochs, the member arguments, the number of members and the time budget."""
    members = run.get("members") or {}
    configs = members.get("configs") or [run["config"]]
    return {"configs": [{k: v for k, v in c.items() if k not in VARYING} for c in configs],
            "member_args": members.get("member_args"),
            "members": members.get("count", 1),
            "minutes": _budget_minutes(run.get("command", ""))}


def _seeds(run: dict) -> List[int]:
    members = run.get("members") or {}
    return list(members.get("seeds") or [run["config"]["seed"]])


def summarize(runs: Sequence[dict], names: Sequence[str], target: float) -> dict:
    """Per-run rows and mean / sample standard deviation / min / max of the float and quantized
    test accuracies; raises ValueError for fewer than two runs, runs of different recipes or
    repeated seeds."""
    if len(runs) < 2:
        raise ValueError("need at least two runs to summarize replicates")
    ref = recipe(runs[0])
    for run, name in zip(runs[1:], names[1:]):
        r = recipe(run)
        if r != ref:
            diff = [k for k in ref if ref[k] != r[k]]
            raise ValueError(f"{name} is not a replicate of {names[0]}: "
                             f"its {', '.join(diff)} differ")
    rows = []
    for run, name in zip(runs, names):
        members = run.get("members") or {}
        lava = run.get("lava_spot_check") or {}
        rows.append({"file": name, "seeds": _seeds(run),
                     "test_accuracy_float": run["test_accuracy_float"],
                     "test_accuracy_quantized": run["test_accuracy_quantized"],
                     "quantization_loss_pp": run.get("quantization_loss_pp"),
                     "members_test_accuracy_float": members.get("test_accuracy_float"),
                     "members_epochs": members.get("epochs", [run.get("epochs")]),
                     "train_minutes": run.get("train_minutes"),
                     "lava_samples": lava.get("samples"),
                     "lava_equal_emulator": lava.get("predictions_equal_emulator"),
                     "machine": run.get("machine")})
    seeds = [tuple(r["seeds"]) for r in rows]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"two runs have the same seeds ({seeds}): not independent replicates")

    def stats(key: str) -> dict:
        v = [r[key] for r in rows]
        sd = statistics.stdev(v)
        return {"mean": statistics.fmean(v), "std": sd, "sem": sd / len(v) ** 0.5,
                "min": min(v), "max": max(v),
                "runs_at_or_above_target": sum(x >= target - 1e-9 for x in v)}

    return {"recipe": ref, "target": target, "n_runs": len(rows), "runs": rows,
            "float": stats("test_accuracy_float"),
            "quantized": stats("test_accuracy_quantized"),
            "note": "std: sample standard deviation over runs (seeds); sem = std / sqrt(n). All "
                    "runs are scored on the same 10,000 test images, so the spread is the "
                    "seeds' alone, not the test set's sampling error (~0.29 pp per score)."}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="ff_fashion.py result JSONs of one recipe")
    ap.add_argument("--target", type=float, default=0.905,
                    help="accuracy target (fraction) whose hits are counted (default 0.905)")
    ap.add_argument("--out", default=str(RESULTS / "ff_fashion_replicates.json"))
    args = ap.parse_args()
    runs = []
    for p in args.runs:
        try:
            runs.append(json.loads(Path(p).read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            sys.exit(f"cannot read {p}: {exc}")
    try:
        out = summarize(runs, args.runs, args.target)
    except (ValueError, KeyError) as exc:
        sys.exit(f"error: {exc}")
    out["machine"] = machine()
    write_json(args.out, out)
    for key in ("float", "quantized"):
        s = out[key]
        print(f"{key}: mean {100 * s['mean']:.2f} %, std {100 * s['std']:.2f} pp, "
              f"range {100 * s['min']:.2f}-{100 * s['max']:.2f} %, "
              f"{s['runs_at_or_above_target']} of {out['n_runs']} runs >= "
              f"{100 * args.target:.2f} %")


if __name__ == "__main__":
    main()
