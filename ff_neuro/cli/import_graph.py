from __future__ import annotations

import click

from ._common import DATASET_HELP, _describe_layers, _emit, _load_dataset, _one_line, _out, main


@main.command("import")
@click.argument("graph", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="ff-neuro model file to write")
@click.option("--dt", type=float, default=None,
              help="the time step the graph's time constants refer to [default: the graph's "
                   "metadata; snnTorch writes graphs for 1e-4]")
@click.option("--time-steps", type=click.IntRange(1, 100_000), default=25, show_default=True,
              help="steps per sample of the input encoding (graphs from other tools)")
@click.option("--encoding", type=click.Choice(["rate", "graded"]), default="rate",
              show_default=True,
              help="rate: Bernoulli spikes of the pixel values; graded: the value at every step "
                   "(graphs from other tools)")
@click.option("--levels", type=click.IntRange(1, 255), default=255, show_default=True,
              help="graded encoding: steps of the input value")
@click.option("--dataset", default=None,
              help=DATASET_HELP + " (recorded in the model: later commands evaluate on "
                                  "it) [default: digits]")
@click.option("--data-dir", type=click.Path(), default=None)
@click.option("--json", "as_json", is_flag=True)
def import_(graph, out, dt, time_steps, encoding, levels, dataset, data_dir, as_json):
    """Import a NIR GRAPH (from snnTorch, Norse, Sinabs, ... or ff-neuro) as an ff-neuro model:
    then quantize, export, evaluate, parity and energy as for a model trained here.

    Supported: a chain of [Flatten] -> Linear | Affine | Conv2d -> LIF | IF (reset to zero, no
    leak potential), optionally ending in a non-spiking Linear / Affine [-> LI] output layer
    (membrane readout); otherwise the output layer's spike counts are the readout."""
    import dataclasses
    import nir
    from ..export.nir_export import from_nir
    from ..model import save_model
    out = _out(out, "model file")
    try:
        g = nir.read(graph)
    except Exception as exc:                # nir.read raises what h5py and NIR raise
        raise click.ClickException(f"{graph}: not a readable NIR graph ({_one_line(exc)})") \
            from None
    try:
        net = from_nir(g, dt=dt, time_steps=time_steps, encoding=encoding,
                       levels=levels if encoding == "graded" else 1)
    except ValueError as exc:
        raise click.ClickException(f"{graph}: {exc}") from exc
    if dataset or data_dir:
        ds = _load_dataset(dataset or "digits", data_dir)
        net = dataclasses.replace(net, dataset=ds.describe())
        try:
            net.check_dataset(ds)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    save_model(net, out)
    _emit({"model": out, "layers": [l.kind for l in net.layers], "shapes": net.shapes,
           "readout": net.readout.kind, "n_classes": net.n_classes,
           "time_steps": net.time_steps},
          as_json, f"saved {out}: {_describe_layers(net)}, shapes "
                   f"{[list(s) for s in net.shapes]}, {net.readout.kind} readout, "
                   f"{net.n_classes} classes, {net.time_steps} steps per sample")
