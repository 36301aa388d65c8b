"""Energy per inference checked against a Loihi 2 measurement: lava-dl's PilotNet LIF.

lava-dl's benchmark notebook (``tutorials/lava/lib/dl/netx/pilotnet_snn/benchmark.ipynb``,
saved outputs) ran ``network.net`` on a Loihi 2 board (Oheo Gulch) for 10,000 steps, 16 steps
per inference (``reset_interval=16, reset_offset=3``), on 74 cores: 408.91 inferences/s,
0.679234 W total, 0.232078 W static, 0.447156 W dynamic; 1.661103 mJ total and 1.093544 mJ
dynamic per inference. Its activity profiler's per-core plot (synaptic ops, neuron updates,
output and input spikes over the whole run) is what the counts here are compared with.

What reached the chip: the notebook sets ``net.in_layer.neuron.bias = image``. The input
neuron is Lava's ``LIFReset``, whose bias Var is ``bias_mant``; ``bias`` is a plain Python
attribute that no Var holds, so the chip ran with the input neuron's bias as NetX built it
(``Input`` gets no bias: 0). The input layer never spikes, the first conv layer receives
nothing, and every spike comes from the conv and dense layers' own biases. The plot agrees:
no synaptic ops on the first conv layer's 25 cores, none on the input layer's 13. So the
activity priced here is that of an all-zero input, the same for every inference.

Steps: load ``benchmarks/data/pilotnet_lif/network.net`` with :func:`ff_neuro.from_netx`,
run one 16-step inference of a zero input on the emulator, spot-check it against ff-neuro's
Lava fixed_pt backend and against lava-dl's own ``netx.hdf5.Network`` (16 + pipeline steps,
each in a child process), count per-layer spikes and synaptic events (both the dense and the
stored-synapse conventions), compare with the counts read from the plot, price them on the
``loihi2`` profile and write ``benchmarks/results/energy_loihi2_pilotnet.json``.

Run: ``.venv/bin/python benchmarks/energy_loihi2_pilotnet.py [--no-lava]``
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
NET = HERE / "data" / "pilotnet_lif" / "network.net"
T = 16
RESET_OFFSET = 3

#: The notebook's printed measurements (cells 17, 23, 24).
MEASURED = {"steps": 10000, "steps_per_inference": 16, "cores": 74,
            "inferences_per_s": 408.91, "total_power_W": 0.679234,
            "static_power_W": 0.232078, "dynamic_power_W": 0.447156,
            "total_mJ": 1.661103, "dynamic_mJ": 1.093544,
            "board": "Oheo Gulch (one Loihi 2 chip)"}
INFERENCES = MEASURED["steps"] / MEASURED["steps_per_inference"]     # 625

#: Synaptic ops per core over the 10,000-step run, read from the notebook's activity plot
#: (cell 27's PNG, 1233 x 463 px). How: the y axis was calibrated on its tick marks (0 at
#: pixel row 392, 1.4e9 at row 67: 4.31e6 counts per pixel), the x axis on its ticks (core 0
#: at column 114, core 70 at 1128); at each core's column the pixels of the synaptic-ops
#: line's colour (#1f77b4) were taken, their median row for a vertex on a slope or a plateau,
#: the outer edge plus half the line width for a peak (core 15, 34) or a dip (16, 19). The
#: reading error is about one pixel (4e6 counts, 0.3 % of a plateau core, ~2.5 % of core 16).
#: The core table the compiler printed (cell 15) lists the layers from the output back to the
#: input with their core counts (1, 1, 1, 12, 2, 3, 3, 13, 25, 13 = 74), so cores 0..73 hold:
#: dense 1, dense 10, dense 50, dense 100 (cores 3-14), conv5 (15-16), conv4 (17-19), conv3
#: (20-22), conv2 (23-35), conv1 (36-60), input (61-73). A synaptic op is counted on the core
#: of the receiving neuron. On cores 0-14 and 36-73 the line lies under the other lines at 0
#: (below one pixel: < 4e6 per core over the run).
PLOT_SYNOPS_PER_CORE = {
    "conv5": [0.511e9, 0.166e9],
    "conv4": [0.523e9, 0.523e9, 0.463e9],
    "conv3": [1.508e9, 1.508e9, 1.497e9],
    "conv2": [1.312e9] * 11 + [1.277e9, 0.418e9],
    "conv1": [0.0] * 25,
}
#: The other lines of the same plot, per core (same reading): output spikes of conv1's cores
#: (green, ~0.013e9 each, 1 pixel = 0.0043e9: +-30 %), input spikes of conv2's cores (red,
#: 0.026e9 each on 12 cores, 0.009e9 on the last), neuron updates (orange) per core.
PLOT_OTHER = {
    "conv1_output_spikes": 24 * 0.013e9 + 0.011e9,
    "conv2_input_spikes": 12 * 0.026e9 + 0.009e9,
    "neuron_updates_per_core": {"input": 0.065e9, "conv1": 0.073e9, "conv2": 0.050e9,
                                "conv3": 0.058e9, "conv4": 0.043e9, "conv5": 0.043e9},
}
#: Our layer index (ff-neuro's net.quantized, the input neuron layer first) -> the name on
#: the plot's cores.
NAMES = ["input", "conv1", "conv2", "conv3", "conv4", "conv5", "dense1", "dense2", "dense3",
         "dense4"]


def _lava_dl_child(steps: int) -> dict:
    """lava-dl's own NetX network on Lava's CPU fixed_pt simulator: spikes per layer and step
    (run in a child process; Lava is never run in the parent)."""
    import logging
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer
    net = netx.hdf5.Network(net_config=str(NET), reset_interval=T, reset_offset=RESET_OFFSET)
    sinks = []
    for layer in net.layers:
        s = RingBuffer(shape=layer.out.shape, buffer=steps)
        layer.out.connect(s.a_in)
        sinks.append(s)
    net._log_config.level = logging.WARNING
    net.run(condition=RunSteps(num_steps=steps),
            run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    out = [np.asarray(s.data.get()).reshape(-1, steps).sum(axis=0).astype(int).tolist()
           for s in sinks]
    net.stop()
    return {"per_step": out}


def lava_dl_spikes(steps: int, timeout: float = 900.0) -> dict:
    r = subprocess.run([sys.executable, __file__, "--lava-dl-child", str(steps)],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-lava", action="store_true", help="skip the two Lava spot checks")
    ap.add_argument("--lava-dl-child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.lava_dl_child:
        print(json.dumps(_lava_dl_child(args.lava_dl_child)))
        return
    import torch
    torch.set_num_threads(1)
    import ff_neuro as ffn
    from ff_neuro.energy import fit_check, load_profile, measure_activity
    from ff_neuro.run import get_backend, infer
    from _common import RESULTS, machine

    net = ffn.from_netx(NET, time_steps=T)
    x = np.zeros((1, net.n_features), np.float32)           # what reached the chip: nothing
    t0 = time.time()
    res = infer(get_backend("emulator"), net, x, keep_counts=True)
    emu_s = time.time() - t0
    spikes = [float(s) for s in res.layer_spikes_per_run()]
    act = measure_activity(net, res, backend="emulator")

    # per-layer counts, per inference
    layers = []
    for k, a in enumerate(act.layers):
        name = NAMES[k]
        row = {"layer": name, "neurons": a.n_out, "output_spikes": a.output_spikes,
               "input_spikes": a.input_spikes, "synops_dense": a.ff_synaptic_events,
               "synops_stored": a.synops_stored,
               "stored_fraction": (a.synops_stored / a.ff_synaptic_events
                                   if a.ff_synaptic_events else None)}
        if name in PLOT_SYNOPS_PER_CORE:
            hw = sum(PLOT_SYNOPS_PER_CORE[name]) / INFERENCES
            row["synops_hardware_plot"] = hw
            if hw:
                row["synops_stored_rel_error"] = a.synops_stored / hw - 1
                row["synops_dense_rel_error"] = a.ff_synaptic_events / hw - 1
        layers.append(row)
    conv1_out_hw = PLOT_OTHER["conv1_output_spikes"] / INFERENCES
    spikes_check = {"conv1_output_spikes_emulator": spikes[1],
                    "conv1_output_spikes_plot": conv1_out_hw,
                    "conv2_input_spikes_plot": PLOT_OTHER["conv2_input_spikes"] / INFERENCES,
                    "rel_error": spikes[1] / conv1_out_hw - 1,
                    "note": "spike lines are within a few pixels of 0 on the plot (one pixel "
                            "is 4.3e6 counts, ~30 % of a conv1 core's spikes); input spikes "
                            "count once per receiving core, so a spike sent to two cores "
                            "counts twice"}
    checked = [r for r in layers if r.get("synops_hardware_plot")]
    hw_total = sum(r["synops_hardware_plot"] for r in checked)
    stored_total = sum(r["synops_stored"] for r in checked)
    dense_total = sum(r["synops_dense"] for r in checked)

    prof = load_profile("loihi2")
    fit = fit_check(net, prof)
    rep = act.report(prof, fit=fit)
    dense_rep = act.report(prof.__class__(**{**prof.__dict__, "synop_convention": "dense"}),
                           fit=fit)
    dyn, static, total = rep.total_mJ, rep.static_mJ, rep.total_with_static_mJ
    # the neuron-update line: how many updates per neuron and step the chip counted
    neurons_per_core = {"input": 3168, "conv1": 3072, "conv2": 2160, "conv3": 2688,
                        "conv4": 2048, "conv5": 2048}
    updates_ratio = {k: PLOT_OTHER["neuron_updates_per_core"][k] / MEASURED["steps"] / n
                     for k, n in neurons_per_core.items()}

    out = {
        "benchmark": "energy_loihi2_pilotnet",
        "network": {"file": str(NET.relative_to(HERE.parent)),
                    "source": "lava-nc/lava-dl tutorials/lava/lib/dl/netx/pilotnet_snn/"
                              "network.net (see benchmarks/data/pilotnet_lif/README.md)",
                    "layers": [f"{type(q.synapse).__name__} {q.in_shape} -> {q.out_shape}"
                               for q in net.quantized]},
        "conditions": {"input": "all zeros (the notebook's bias assignment does not reach the "
                                "chip: see the module docstring)",
                       "time_steps_per_inference": T, "reset_interval": T,
                       "reset_offset": RESET_OFFSET},
        "measured": MEASURED,
        "measured_per_inference_from_plot": {"synops_per_layer": {
            k: sum(v) / INFERENCES for k, v in PLOT_SYNOPS_PER_CORE.items()}},
        "plot_reading": {
            "how": "the notebook's activity PNG (cell 27), axes calibrated on their tick marks "
                   "(y: 0 at row 392, 1.4e9 at row 67; x: core 0 at column 114, core 70 at "
                   "1128); per core the median row of the synaptic-ops line's pixels "
                   "(#1f77b4) at the core's column, the outer edge at a peak or dip; layers "
                   "assigned to cores from the compiler's core table (cell 15); run totals "
                   "over 10,000 steps divided by 625 inferences",
            "resolution_counts_per_pixel": 1.4e9 / 325,
            "synops_per_core_run_totals": PLOT_SYNOPS_PER_CORE},
        "per_layer": layers,
        "synops_checked_layers": {"hardware_plot": hw_total, "stored": stored_total,
                                  "dense": dense_total,
                                  "stored_rel_error": stored_total / hw_total - 1,
                                  "dense_rel_error": dense_total / hw_total - 1},
        "spikes_check": spikes_check,
        "neuron_updates_per_neuron_step_on_chip": updates_ratio,
        "profile": "loihi2",
        "synop_convention": rep.synop_convention,
        "estimated_dynamic_mJ": dyn,
        "estimated_static_mJ": static,
        "estimated_total_mJ": total,
        "estimated_dynamic_mJ_dense_convention": dense_rep.total_mJ,
        "dynamic_rel_error": dyn / MEASURED["dynamic_mJ"] - 1,
        "total_rel_error": total / MEASURED["total_mJ"] - 1,
        "static": rep.static,
        "fit_check": {"cores": fit.total_cores, "chips": fit.chips_needed,
                      "cores_on_chip_measured": MEASURED["cores"]},
        "energy_breakdown_pJ": {
            "synaptic_ops": sum(c.breakdown.get("synaptic_ops_pJ", 0) for c in rep.layers),
            "neuron_updates": sum(c.breakdown.get("neuron_updates_pJ", 0) for c in rep.layers),
            "spikes": sum(c.breakdown.get("spikes_pJ", 0) for c in rep.layers)},
        "emulator_seconds": emu_s,
        "machine": machine(),
    }

    if not args.no_lava:
        t0 = time.time()
        lres = infer(get_backend("lava-fixed"), net, x, keep_counts=True)
        lspikes = [float(s) for s in lres.layer_spikes_per_run()]
        out["lava_fixed_pt"] = {"layer_spikes": lspikes, "equal": lspikes == spikes,
                                "seconds": time.time() - t0}
        # lava-dl's own NetX network: layer i's windows start RESET_OFFSET + 1 + i steps in
        # (NetX's offsets; one step of latency per layer), so its second full window ends
        # before step 2 T + RESET_OFFSET + 1 + n_layers
        steps = 2 * T + RESET_OFFSET + 1 + len(net.quantized)
        t0 = time.time()
        d = lava_dl_spikes(steps)
        per_window = []
        for i, s in enumerate(d["per_step"]):
            start = RESET_OFFSET + 1 + i + T - 1      # 0-based step index of a window start
            per_window.append(float(sum(s[start:start + T])))
        out["lava_dl_netx"] = {"layer_spikes_second_window": per_window,
                               "equal": per_window == spikes, "steps": steps,
                               "per_step": d["per_step"], "seconds": time.time() - t0}
    out["emulator_layer_spikes"] = spikes
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "energy_loihi2_pilotnet.json"
    path.write_text(json.dumps(out, indent=1, default=float) + "\n")
    print(rep.format_table())
    print(json.dumps({k: out[k] for k in ("estimated_dynamic_mJ", "estimated_total_mJ",
                                          "dynamic_rel_error", "total_rel_error",
                                          "synops_checked_layers")}, indent=1))
    for r in layers:
        print(r["layer"], round(r["output_spikes"]), round(r["synops_stored"] or 0),
              r.get("synops_hardware_plot"), r.get("synops_stored_rel_error"))
    for key in ("lava_fixed_pt", "lava_dl_netx"):
        if key in out:
            print(key, out[key]["equal"], out[key].get("layer_spikes") or
                  out[key]["layer_spikes_second_window"])
    print(path)


if __name__ == "__main__":
    main()
