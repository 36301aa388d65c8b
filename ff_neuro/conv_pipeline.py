"""The deployment stages for a :class:`~ff_neuro.model.conv.ConvFFNetwork` (what the CLI's
``quantize``, ``evaluate``, ``parity``, ``export`` and ``energy`` run for a conv model file).

Each function returns ``(result dict, text)``; the CLI prints one or the other.
Backends: ``torch`` (float), ``emulator`` (bit-exact Loihi fixed point), ``lava-fixed`` (the NetX
conv export on Lava's fixed_pt models) and ``lava-float`` (the float layers as Lava ``Conv`` +
``LIFReset`` floating_pt processes), both through the launcher in
:mod:`ff_neuro.export.lava_runner`. Prediction is one pass (class-group goodness).
"""
from __future__ import annotations

import time
from typing import Optional, Sequence

import numpy as np

from .model.conv import ConvFFNetwork

CONV_BACKENDS = ("torch", "emulator", "lava-fixed", "lava-float")
_PARITY_NAMES = {"float": "torch", "emulator": "emulator", "lava_fixed_pt": "lava-fixed",
                 "lava_floating_pt": "lava-float"}
#: Pairs compared when both sides ran (as in :data:`ff_neuro.parity.PAIRS`).
_PAIRS = (("float", "emulator"), ("emulator", "lava_fixed_pt"), ("float", "lava_fixed_pt"),
          ("float", "lava_floating_pt"), ("lava_floating_pt", "lava_fixed_pt"))


def is_conv(net) -> bool:
    return isinstance(net, ConvFFNetwork)


def images(net: ConvFFNetwork, x: np.ndarray) -> np.ndarray:
    """Flat dataset rows (N, D) -> (N, C, H, W) in the encoder's input shape."""
    x = np.asarray(x, dtype=np.float32)
    shape = net.encoder.in_shape
    if x.ndim == 2:
        if x.shape[1] != int(np.prod(shape)):
            raise ValueError(f"the dataset has {x.shape[1]} features; the model's encoder takes "
                             f"{shape} = {int(np.prod(shape))}")
        x = x.reshape((-1,) + tuple(shape))
    return x


def quantize_for_dataset(net: ConvFFNetwork, ds, cfg=None) -> tuple:
    """Quantize with calibration on the first ``cfg.calibration_samples`` training images."""
    from .config import QuantConfig
    from .quantization.conv import quantize_conv
    cfg = cfg or QuantConfig()
    calib = images(net, ds.x_train[:cfg.calibration_samples])
    return quantize_conv(net, cfg, calibration_images=calib)


def run_spikes(net: ConvFFNetwork, x: np.ndarray, backend: str, timeout_s: float = 600.0,
               batch_size: int = 64) -> dict:
    """Run ``x`` (N, C, H, W) on ``backend``; returns ``{"counts", "input_counts", "spikes"
    (only for the Lava backends), "stats"}``."""
    from .run.conv import encode, run_batches
    if backend in ("emulator", "lava-fixed") and net.quantized is None:
        raise ValueError(f"backend {backend} needs a quantized model (ff-neuro quantize)")
    if backend in ("lava-fixed", "lava-float"):
        from .export.lava_runner import run_conv_lava
        spikes, stats = run_conv_lava(net, x, timeout_s=timeout_s, chunk=10,
                                      mode="fixed_pt" if backend == "lava-fixed" else "floating_pt")
        inp = (encode(net, x) > 0).sum(axis=0, dtype=np.int32)
        return {"counts": [s.sum(axis=0, dtype=np.int32) for s in spikes], "input_counts": inp,
                "spikes": spikes, "stats": stats}
    if backend not in ("torch", "emulator"):
        raise ValueError(f"conv models run on {', '.join(CONV_BACKENDS)}, not {backend!r}")
    res = run_batches(net, x, "float" if backend == "torch" else "emulator",
                      batch_size=batch_size, progress=len(x) > 2000)
    return {"counts": res.counts, "input_counts": res.input_counts, "spikes": None, "stats": None}


def evaluate(net: ConvFFNetwork, ds, backend: str, samples: Optional[int] = None,
             timeout_s: float = 600.0) -> tuple:
    x, y = ds.x_test, ds.y_test
    if samples is not None:
        x, y = x[:samples], y[:samples]
    t = time.perf_counter()
    out = run_spikes(net, images(net, x), backend, timeout_s)
    pred = net.predict_from_counts(out["counts"])
    secs = time.perf_counter() - t
    d = {"backend": backend, "dataset": ds.name, "samples": int(len(y)), "readout": "class-groups",
         "accuracy": float(np.mean(pred == y)), "seconds": secs,
         "samples_per_s": len(y) / secs if secs else None}
    if out["stats"] is not None:
        d["lava"] = out["stats"].to_dict()
    return d, (f"{backend} (one pass, class-group goodness): accuracy {d['accuracy']:.4f} on "
               f"{d['samples']} samples ({secs:.1f} s)")


def parity(net: ConvFFNetwork, x: np.ndarray, y: np.ndarray, names: Sequence[str],
           timeout_s: float = 600.0, plot_path: Optional[str] = None) -> tuple:
    """Same images through float, emulator, Lava fixed_pt and Lava floating_pt (``names``, a
    subset of ``float, emulator, lava_fixed_pt, lava_floating_pt``); spike agreement per layer
    and time step for every pair in :data:`_PAIRS` that ran (``plot_path``: PNG of
    mismatching spike bits per layer over time steps). ``d["lava"]`` holds the timings of the
    fixed_pt run (else of the floating_pt run), ``d["lava_runs"]`` those of each Lava run."""
    from .run.conv import encode, run_fixed, run_float
    bad = [n for n in names if n not in _PARITY_NAMES]
    if bad:
        raise ValueError(f"conv parity runs {', '.join(_PARITY_NAMES)}; not {', '.join(bad)}")
    xi = images(net, x)
    spikes = {}
    lava_stats = {}
    for n in names:
        if n == "float":
            spikes[n] = run_float(net, encode(net, xi))
        elif n == "emulator":
            spikes[n] = run_fixed(net, encode(net, xi))
        else:
            from .export.lava_runner import run_conv_lava
            mode = "fixed_pt" if n == "lava_fixed_pt" else "floating_pt"
            spikes[n], lava_stats[n] = run_conv_lava(net, xi, timeout_s=timeout_s, chunk=10,
                                                     mode=mode)
    preds = {n: net.predict_from_counts([s.sum(axis=0) for s in sp]) for n, sp in spikes.items()}
    d = {"samples": int(len(y)), "accuracy": {n: float(np.mean(p == y)) for n, p in preds.items()},
         "pairs": {}}
    lines = [f"conv parity on {len(y)} samples ({net.time_steps} steps, one pass)"]
    for a, b in _PAIRS:
        if a in spikes and b in spikes:
            per_layer = [int((sa != sb).sum()) for sa, sb in zip(spikes[a], spikes[b])]
            per_step = [[int((sa[t] != sb[t]).sum()) for t in range(sa.shape[0])]
                        for sa, sb in zip(spikes[a], spikes[b])]
            total = sum(int(s.size) for s in spikes[a])
            agree = 1.0 - sum(per_layer) / total
            d["pairs"][f"{a}_vs_{b}"] = {
                "spike_agreement": agree, "mismatches_per_layer": per_layer,
                "mismatches_per_layer_step": per_step,
                "prediction_agreement": float(np.mean(preds[a] == preds[b]))}
            lines.append(f"{a} vs {b}: spike agreement {agree:.6f} (mismatches per layer "
                         f"{per_layer}), prediction agreement "
                         f"{d['pairs'][f'{a}_vs_{b}']['prediction_agreement']:.4f}")
    lines += [f"accuracy {n}: {acc:.4f}" for n, acc in d["accuracy"].items()]
    if lava_stats:
        d["lava"] = lava_stats.get("lava_fixed_pt", lava_stats.get("lava_floating_pt")).to_dict()
        d["lava_runs"] = {n: st.to_dict() for n, st in lava_stats.items()}
    if plot_path and d["pairs"]:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from .fileio import save_figure
        fig, axes = plt.subplots(1, len(d["pairs"]), figsize=(4.2 * len(d["pairs"]), 3.2),
                                 squeeze=False)
        for ax, (name, pr) in zip(axes[0], d["pairs"].items()):
            for k, row in enumerate(pr["mismatches_per_layer_step"]):
                ax.plot(range(len(row)), row, "o-", label=f"conv{k + 1}")
            ax.set_title(f"{name}\nagreement {pr['spike_agreement']:.6f}", fontsize=9)
            ax.set_xlabel("time step")
            ax.set_ylabel("mismatching spike bits")
            ax.legend(fontsize=7)
        save_figure(fig, plot_path)
        d["plot"] = plot_path
        lines.append(f"plot: {plot_path}")
    return d, "\n".join(lines)


def export(net: ConvFFNetwork, out: str, profile: str = "loihi") -> tuple:
    from .energy.fit import conv_fit_check
    from .export.netx import write_netx_conv
    if net.quantized is None:
        raise ValueError("NetX export needs a quantized model: run `ff-neuro quantize` first")
    write_netx_conv(net, out)
    fit = conv_fit_check(net, profile)
    shapes = [list(s) for s in net.shapes]
    d = {"out": out, "format": "netx", "quantized": True, "shapes": shapes,
         "input_message_bits": net.encoder.message_bits, "fit": fit.to_dict()}
    msg = (f"wrote {out} (NetX, {len(net.quantized)} conv layers, shapes (C, H, W) {shapes}; "
           f"graded input, input_message_bits={net.encoder.message_bits}; the encoder runs on "
           f"the host)")
    return d, msg + "\n\n" + fit.format()


def activities(net: ConvFFNetwork, ds, backend: str = "emulator", samples: int = 100,
               timeout_s: float = 600.0) -> list:
    """Per-layer activity (exact conv synops, spikes) of a run on the first test images."""
    from .energy.conv import conv_activity
    x = images(net, ds.x_test[:samples])
    out = run_spikes(net, x, backend, timeout_s)
    return conv_activity(net, out["input_counts"], out["counts"])


def energy(net: ConvFFNetwork, ds, backend: str = "emulator", samples: int = 100,
           profile: str = "ffgaf-table2", timeout_s: float = 600.0) -> tuple:
    """Per-layer energy from exact conv operation counts of a run (one pass per inference),
    FFGAF-table style (one ``ffgaf`` profile)."""
    from .energy.conv import conv_energy_table, format_conv_energy
    acts = activities(net, ds, backend, samples, timeout_s)
    table = conv_energy_table(net, acts, profile)
    table["measured"] = {"backend": backend, "samples": int(min(samples, len(ds.x_test))),
                         "layers": [a.to_dict() for a in acts]}
    return table, format_conv_energy(table)


def energy_reports(net: ConvFFNetwork, ds, profiles, backend: str = "emulator",
                   samples: int = 100, timeout_s: float = 600.0) -> tuple:
    """One run, priced on each of ``profiles`` (``ffgaf`` or ``per-event``): ({profile:
    EnergyReport}, measured-activity dict)."""
    from .energy.conv import check_conv_profile, conv_energy_report
    for p in profiles:                 # refuse a bad profile before the run, not after it
        check_conv_profile(p)
    acts = activities(net, ds, backend, samples, timeout_s)
    reports = {p: conv_energy_report(net, acts, p) for p in profiles}
    meta = {"backend": backend, "samples": int(min(samples, len(ds.x_test))),
            "layers": [a.to_dict() for a in acts]}
    return reports, meta
