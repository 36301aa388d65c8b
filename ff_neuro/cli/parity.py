from __future__ import annotations

from pathlib import Path

import click

from ._common import (COUNT, DATASET_HELP, SECONDS, _emit, _library_errors, _load_model, _log,
                     _model_dataset, _out, _take, main, workers_option)


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--dataset", default=None, help=DATASET_HELP + " [default: the model's]")
@click.option("--data-dir", type=click.Path(), default=None)
@click.option("--samples", type=COUNT, default=50, show_default=True,
              help="first N test samples (a label sweep runs each with every candidate label)")
@click.option("--backends", default="float,emulator,lava-fixed,lava-float", show_default=True,
              help="comma-separated subset to run (older spellings accepted)")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="PNG of mismatches over layers and time steps [default: next to MODEL]")
@click.option("--timeout", type=SECONDS, default=600.0, show_default=True,
              help="time limit of each Lava run in seconds")
@workers_option
@click.option("--json", "as_json", is_flag=True)
def parity(model, dataset, data_dir, samples, backends, plot_path, timeout, workers, as_json):
    """Run the same inputs through the float backend, the emulator, Lava fixed_pt and Lava
    floating_pt and report spike mismatches per layer and time step, first divergence,
    prediction agreement and accuracy of each, for any network (dense, conv or both).

    \b
    Pairs: float_vs_emulator (quantization error), emulator_vs_lava-fixed (must be exact),
    float_vs_lava-float (must be exact), float_vs_lava-fixed, lava-float_vs_lava-fixed.
    """
    from ..parity import run_parity
    net = _load_model(model)
    plot_path = _out(plot_path or str(Path(model).with_suffix("")) + ".parity.png", "plot")
    ds = _model_dataset(net, dataset, data_dir)
    names = [b.strip() for b in backends.split(",") if b.strip()]
    x, y = _take(ds, samples)
    try:
        rep = run_parity(net, x, y, names, timeout_s=timeout, log=_log(True), workers=workers)
    except _library_errors() as exc:
        raise click.ClickException(str(exc)) from exc
    rep.plot(plot_path)
    d = rep.to_dict()
    d["plot"] = plot_path
    _emit(d, as_json, rep.format() + f"\n\nplot: {plot_path}")
