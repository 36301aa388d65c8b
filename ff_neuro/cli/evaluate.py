from __future__ import annotations

import click

from ._common import (BackendName, COUNT, DATASET_HELP, READOUT_HELP, READOUT_KINDS, SECONDS,
                     _emit, _get_backend, _library_errors, _load_model, _model_dataset,
                     _needs_quantized, _take, main, workers_option)


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--backend", type=BackendName(), default="emulator",
              show_default=True,
              help="float | emulator | lava-float | lava-fixed | loihi2 (older spellings "
                   "torch, lava_fixed_pt, lava_floating_pt, loihi2-hw are accepted)")
@click.option("--dataset", default=None, help=DATASET_HELP + " [default: the model's]")
@click.option("--data-dir", type=click.Path(), default=None)
@click.option("--samples", type=COUNT, default=None, help="first N test samples [default: all]")
@click.option("--readout", type=click.Choice(READOUT_KINDS), default=None,
              help=READOUT_HELP)
@click.option("--timeout", type=SECONDS, default=600.0, show_default=True,
              help="time limit of a Lava run in seconds")
@workers_option
@click.option("--json", "as_json", is_flag=True)
def evaluate(model, backend, dataset, data_dir, samples, readout, timeout, workers, as_json):
    """Test accuracy of MODEL on one backend, through its readout."""
    import time
    from ..run import infer
    net = _load_model(model)
    try:
        r = net.get_readout(readout)
    except ValueError as exc:
        raise click.ClickException(f"{model}: {exc}") from exc
    _needs_quantized(net, model, backend)
    be = _get_backend(backend, timeout, workers)
    ds = _model_dataset(net, dataset, data_dir)
    x, y = _take(ds, samples)
    t = time.perf_counter()
    try:
        res = infer(be, net, x, r)
    except _library_errors() as exc:
        raise click.ClickException(str(exc)) from exc
    secs = time.perf_counter() - t
    d = {"backend": be.name, "dataset": ds.name, "samples": int(x.shape[0]), "readout": r.kind,
         "runs_per_sample": res.runs_per_sample, "accuracy": res.accuracy(y), "seconds": secs,
         "samples_per_s": x.shape[0] / secs if secs else None}
    if be.name.startswith("lava") and be.stats is not None:
        d["lava"] = be.stats.to_dict()
    _emit(d, as_json, f"{be.name} ({r.kind}): accuracy {d['accuracy']:.4f} on {d['samples']} "
                      f"samples ({secs:.1f} s)")
