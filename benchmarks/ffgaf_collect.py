"""Collect a GPU run of FFGAF-SNN into ``benchmarks/results/ffgaf_fashion.json``.

A lent GPU machine trains (``benchmarks/ffgaf_gpu_run.sh``, ``ffgaf_gpu_sweep.sh``) but has
no Lava; quantization, the emulator's full-test accuracy and the Lava spot check run here
afterwards (``benchmarks/ffgaf_deploy.py``). This script joins the two::

    python benchmarks/ffgaf_collect.py runs/gpu1/ffgaf_fashion_gpu.json \\
        --deploy benchmarks/results/ffgaf_deploy_gpu_paper.json \\
        --sweep runs/sweep/* --cpu-record benchmarks/results/ffgaf_fashion_cpu60.json

The main record keeps the training JSON's fields (``test_accuracy_float`` from the training
model's one-pass inference on the full test set, ``epochs``, ``device``: the GPU's name) and
takes ``test_accuracy_quantized`` from the deployment JSON (bit-exact emulator, full test set).
Each ``--sweep`` directory (``result.json`` when the run finished; else the epoch lines of its
``log.txt``) becomes one row of ``gpu_variants``.
"""
from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS  # noqa: E402

from ff_neuro.fileio import write_json  # noqa: E402

CONFIG_KEYS = ("lr", "epochs", "dropout", "augment", "loss_on", "batch_size", "seed",
               "allocation", "channels", "time_steps")


def epoch_lines(log: Path) -> list:
    """The per-epoch dicts ``ffgaf_fashion.py`` prints (``main {...}``)."""
    return [ast.literal_eval(line[5:]) for line in log.read_text().splitlines()
            if line.startswith("main {")]


def variant(d: Path) -> dict:
    res, log = d / "result.json", d / "log.txt"
    if res.exists():
        r = json.loads(res.read_text())
        return {"name": d.name, "finished": True,
                "config": {k: r["config"].get(k) for k in CONFIG_KEYS},
                "test_accuracy_float": r["test_accuracy_float"],
                "test_accuracy_per_layer": r["test_accuracy_per_layer"],
                "firing_rate_per_layer": r["firing_rate_per_layer"],
                "epochs": r["epochs"], "train_minutes": r["train_minutes"],
                "train_batch_accuracy_last_block": r["curve"][-1][
                    "train_batch_accuracy_per_block"][-1]}
    lines = epoch_lines(log)
    last = lines[-1] if lines else {}
    config = None
    if (d / "ckpt.h5").exists():        # the checkpoint holds the run's configuration
        import h5py
        with h5py.File(d / "ckpt.h5", "r") as f:
            full = json.loads(f.attrs["config_json"])
        config = {k: full.get(k) for k in CONFIG_KEYS}
    test_key = next((k for k in last if k.startswith("test_accuracy_first_")), None)
    return {"name": d.name, "finished": False, "config": config,
            "note": "stopped by the device time limit before its last epoch; the test "
                    "accuracy is the epoch's curve point, not a full-test evaluation",
            "epochs_done": last.get("epochs_completed"),
            "curve_test_accuracy": [l.get(test_key) for l in lines],
            "curve_test_samples": None if test_key is None else int(test_key.rsplit("_", 1)[1]),
            "train_batch_accuracy_last_block": (last["train_batch_accuracy_per_block"][-1]
                                                if last else None)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("train_json", help="ffgaf_fashion.py's JSON of the main GPU run")
    ap.add_argument("--deploy", required=True, help="ffgaf_deploy.py's JSON of its model")
    ap.add_argument("--sweep", nargs="*", default=[], help="run directories of the sweep")
    ap.add_argument("--variant-deploy", nargs="*", default=[], metavar="NAME=JSON",
                    help="ffgaf_deploy.py results of sweep variants (quantized accuracy, Lava)")
    ap.add_argument("--allocation-runs", nargs="*", default=[],
                    help="finished run directories of an allocation study (same preset, "
                         "class-aware and uniform, one or more seeds)")
    ap.add_argument("--cpu-record", default=None,
                    help="the CPU-budget record (ffgaf_fashion.py on this machine's CPU)")
    ap.add_argument("--out", default=str(RESULTS / "ffgaf_fashion.json"))
    args = ap.parse_args(argv)
    out = json.loads(Path(args.train_json).read_text())
    dep = json.loads(Path(args.deploy).read_text())
    acc_q = dep["test_accuracy_quantized"]
    out["test_accuracy_quantized"] = acc_q
    out["model_trained_on_gpu_as"] = out.get("model")
    out["model"] = dep["model"]
    out["quantization_loss_pp"] = 100.0 * (out["test_accuracy_float"] - acc_q)
    out["quantized"] = {
        "source": str(args.deploy), "machine": dep["machine"],
        "test_accuracy_quantized": acc_q, "test_samples": dep["test_samples"],
        "float_backend_accuracy_of_quantized_pipeline": dep["test_accuracy_float"],
        "prediction_agreement_float_vs_emulator": dep["prediction_agreement_float_vs_emulator"],
        "quantization_report": dep["quantization"],
        "lava": {k: v for k, v in dep.get("lava", {}).items() if k != "stats"},
        "energy_csnn_row": dep.get("energy", {}).get("csnn_row")}
    out["gpu_variants"] = [variant(Path(d)) for d in args.sweep if Path(d).is_dir()]
    rows = {r["name"]: r for r in out["gpu_variants"]}
    for item in args.variant_deploy:
        name, _, path = item.partition("=")
        if name not in rows:
            raise SystemExit(f"--variant-deploy {item}: no sweep variant {name!r}")
        vd = json.loads(Path(path).read_text())
        rows[name]["deployment"] = {
            "source": path, "test_accuracy_quantized": vd["test_accuracy_quantized"],
            "quantization_loss_pp": 100 * (rows[name]["test_accuracy_float"]
                                           - vd["test_accuracy_quantized"]),
            "lava_spike_agreement": vd.get("lava", {}).get("spike_agreement"),
            "lava_samples": vd.get("lava", {}).get("samples")}
    if args.allocation_runs:
        rows = [variant(Path(d)) for d in args.allocation_runs]
        by = {}
        for r in rows:
            if not r["finished"]:
                raise SystemExit(f"{r['name']}: the allocation study needs finished runs")
            by.setdefault(r["config"]["allocation"], []).append(r["test_accuracy_float"])
        study = {"runs": rows, "mean_test_accuracy": {k: sum(v) / len(v) for k, v in by.items()}}
        if set(by) == {"class-aware", "uniform"}:
            m = study["mean_test_accuracy"]
            study["class_aware_minus_uniform_pp"] = 100 * (m["class-aware"] - m["uniform"])
        out["allocation_comparison_gpu"] = study
    if args.cpu_record:
        cpu = json.loads(Path(args.cpu_record).read_text())
        out["cpu_budget_record"] = {
            "file": str(args.cpu_record),
            **{k: cpu.get(k) for k in ("preset", "test_accuracy_float",
                                       "test_accuracy_quantized", "epochs", "train_minutes",
                                       "device")},
            "budget_minutes": cpu.get("budget", {}).get("main_minutes")}
    write_json(args.out, out)
    print(f"wrote {args.out}: float {out['test_accuracy_float']:.4f}, quantized {acc_q:.4f}, "
          f"{out['epochs']} epochs on {out['device']}")
    return out


if __name__ == "__main__":
    main()
