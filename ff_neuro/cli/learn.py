from __future__ import annotations

import click

from ..fileio import write_json
from ._common import (COUNT, DATASET_HELP, POSITIVE, SECONDS, SEED, _emit, _load_dataset,
                     _load_model, _log, _out, main)


@main.command()
@click.option("--on", "target", type=click.Choice(["lava", "emulator"]), default="lava",
              show_default=True,
              help="where the online learning runs: the Lava CPU simulator, or its emulator "
                   "(the same network without Lava: bit-exact in fixed_pt, equal to rounding "
                   "in floating_pt; docs/onchip.md gives its speed)")
@click.option("--mode", type=click.Choice(["floating_pt", "fixed_pt"]), default="floating_pt",
              show_default=True)
@click.option("--dataset", default="digits", show_default=True, help=DATASET_HELP)
@click.option("--data-dir", type=click.Path(), default=None)
@click.option("--samples", type=COUNT, default=1000, show_default=True,
              help="training samples learned online in one run")
@click.option("--every", type=COUNT, default=None,
              help="learning-curve point every N samples [default: 100, or --samples if fewer]")
@click.option("--eval-samples", type=COUNT, default=200, show_default=True,
              help="held-out test samples scored at every curve point")
@click.option("--hidden", type=COUNT, default=None,
              help="neurons (one layer) [default: the --from model's, else 200]")
@click.option("--eta", type=POSITIVE, default=0.5, show_default=True, help="learning rate")
@click.option("--from", "from_model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="start from this model's first layer (fine-tuning on chip) [default: "
              "random]; a --algo hebbian model also brings its input coding, label code and "
              "rule settings (gain, trace, threshold, ...)")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--out", "out_prefix", default="runs/learn", show_default=True,
              help="writes OUT.json and OUT.png (learning curve)")
@click.option("--timeout", type=SECONDS, default=3600.0, show_default=True,
              help="seconds the Lava run may take (--on lava)")
@click.option("--y-exp", type=click.IntRange(-7, 0), default=-6, show_default=True,
              help="fixed_pt: the third factor leaves the neurons in units of 2^Y_EXP integer "
                   "weight units (7 bits: at most 127 of them per step)")
@click.option("--weight-scale", type=POSITIVE, default=None,
              help="fixed_pt: integer weight units per float unit [default: the largest start "
                   "weight maps to ~128]")
@click.option("--json", "as_json", is_flag=True)
def learn(target, mode, dataset, data_dir, samples, every, eval_samples, hidden, eta, from_model,
          seed, out_prefix, timeout, y_exp, weight_scale, as_json):
    """Online Hebbian Forward-Forward learning trial on the simulated chip.

    The network is a Lava LearningDense feeding ff-neuro's HebbianLIF neurons, which compute the
    modulatory third factor from the layer's own output traces and the sample's polarity, so the
    learning loop runs inside Lava without the host (--on emulator: the same network computed
    without Lava). Prints and saves a learning curve; fixed_pt reports weights_sha256, the
    digest of the final integer weights.
    """
    from ..training.onchip import learning_trial
    for suffix in (".json", ".png"):
        _out(out_prefix + suffix, "learning curve")
    ds = _load_dataset(dataset, data_dir)
    model = _load_model(from_model) if from_model else None
    from ..training.onchip.learning import trial_config
    try:
        cfg = trial_config(model, hidden, seed)
    except (TypeError, ValueError) as exc:
        if "hidden=" in str(exc):
            raise click.UsageError(f"--hidden {hidden}: the model's layer has "
                                   f"{model.layers[0].weight.shape[0]} neurons") from exc
        raise click.ClickException(f"{from_model}: {exc}") from exc
    from ..run.lava import LavaRunError
    try:
        res = learning_trial(ds, samples, eval_samples=eval_samples, every=every, model=model,
                             cfg=cfg, eta=eta, mode=mode, timeout_s=timeout, seed=seed,
                             log=_log(as_json), y_exp=y_exp, weight_scale=weight_scale,
                             on=target, progress=not as_json)
    except (LavaRunError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    res["dataset"] = ds.name
    write_json(out_prefix + ".json", res)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ..fileio import save_figure
    where = "Lava" if target == "lava" else "emulator"
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot([c["samples"] for c in res["curve"]], [c["accuracy"] for c in res["curve"]], "o-",
            label=f"{where} {mode}")
    if "host_rule" in res:
        ax.axhline(res["host_rule"]["accuracy"], color="gray", ls="--", label="host rule, end")
    ax.set_xlabel("samples learned online")
    ax.set_ylabel(f"accuracy ({res['eval_samples']} test samples)")
    ax.set_title(f"on-chip Hebbian FF, {ds.name}")
    ax.legend()
    save_figure(fig, out_prefix + ".png")
    lines = [f"learned {res['samples_learned']} samples online on {where} {mode} in one run "
             f"({res['samples_per_s']:.1f} samples/s, {res['ms_per_step']:.3g} ms/step)",
             "samples  accuracy"] + [f"{c['samples']:>7}  {c['accuracy']:.4f}"
                                     for c in res["curve"]]
    if "host_rule" in res:
        lines.append(f"host rule on the same samples: {res['host_rule']['accuracy']:.4f}")
    if "fixed_point" in res:
        fx = res["fixed_point"]
        dv = fx["deviation"]
        tf = dv["third_factor"]
        lines += [f"float reference rule (same start and spikes): "
                  f"{fx['float_reference']['accuracy']:.4f}",
                  f"fixed_pt vs float rule: weight rel. error {dv['weight_rel_error']:.4f}, "
                  f"update rel. error {dv['update_rel_error'] or float('nan'):.3f} "
                  f"(cosine {dv['update_cosine'] or float('nan'):.3f}); saturated weights "
                  f"{dv['weights_saturated']}/{dv['weights']}",
                  f"third factor: {tf['rounded_to_zero_fraction']:.2%} rounded to zero, "
                  f"{tf['y_saturated_fraction']:.2%} saturated, rel. error "
                  f"{tf['rel_error'] or float('nan'):.4f} (S = {fx['weight_scale']:.3f}, "
                  f"y in 2^{fx['y_exp']})"]
    if res.get("weights_sha256"):
        lines.append(f"weights_sha256 (final integer weights): {res['weights_sha256']}")
    if res.get("energy"):
        lines += ["", res["energy"]["table"], ""]
    else:
        lines.append("energy per learned sample: run the trial with --on emulator (it counts "
                     "the network's activity; in fixed_pt the same as Lava's)")
    lines.append(f"curve: {out_prefix}.json, {out_prefix}.png")
    _emit(res, as_json, "\n".join(lines))

