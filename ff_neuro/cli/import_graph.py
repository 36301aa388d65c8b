from __future__ import annotations

import click

from ._common import DATASET_HELP, _describe_layers, _emit, _load_dataset, _one_line, _out, main


@main.command("import")
@click.argument("graph", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="ff-neuro model file to write")
@click.option("--dt", type=float, default=None,
              help="NIR: the time step the graph's time constants refer to [default: the "
                   "graph's metadata; snnTorch writes graphs for 1e-4]")
@click.option("--reset", type=click.Choice(["zero", "subtract"]), default="zero",
              show_default=True,
              help="NIR: how the neurons reset after a spike, which NIR cannot say (to zero: "
                   "NIR's v_reset; subtract: v -= threshold, as snnTorch's default and Sinabs); "
                   "ff-neuro's own graphs carry it")
@click.option("--reset-delay", is_flag=True,
              help="NIR: reset one step after the spike (snnTorch's reset_delay=True)")
@click.option("--time-steps", type=click.IntRange(1, 100_000), default=None,
              help="steps per sample of the input encoding (graphs from other tools) "
                   "[default: 25; NetX: 16]")
@click.option("--encoding", type=click.Choice(["rate", "graded", "sequence"]), default="rate",
              show_default=True,
              help="rate: Bernoulli spikes of the pixel values; graded: the value at every step; "
                   "sequence: one frame of the sample per step (graphs from other tools)")
@click.option("--levels", type=click.IntRange(1, 255), default=255, show_default=True,
              help="graded and sequence encodings: steps of the input value")
@click.option("--dataset", default=None,
              help=DATASET_HELP + " (recorded in the model: later commands evaluate on "
                                  "it) [default: digits]")
@click.option("--data-dir", type=click.Path(), default=None)
@click.option("--json", "as_json", is_flag=True)
def import_(graph, out, dt, reset, reset_delay, time_steps, encoding, levels, dataset, data_dir,
            as_json):
    """Import a network trained elsewhere as an ff-neuro model: a NIR GRAPH (from snnTorch,
    Norse, Sinabs, Rockpool, ... or ff-neuro) or a NetX HDF5 file (lava-dl's export_hdf5, or
    ff-neuro's own). Then quantize, export, evaluate, parity and energy as for a model trained
    here.

    NIR: chains of Linear / Affine / Conv2d layers with LIF, CubaLIF or IF neurons, recurrent
    synapses (a Linear / Affine from a neuron back to itself), SumPool2d / AvgPool2d / Scale
    (folded into the synapses), subgraphs, ending in spiking outputs (spike counts) or a
    Linear / Affine [-> LI] output layer (membrane readout). A graph that fails NIR's own type
    check is read with the check off, with a warning. NetX: dense and conv layers with CUBA
    neurons; graded spikes, delays, pooling and sigma-delta neurons are refused with the
    reason."""
    import dataclasses
    import warnings

    from ..model import save_model
    out = _out(out, "model file")
    levels = levels if encoding != "rate" else 1
    from ..export.netx import is_netx
    if is_netx(graph):
        from ..export.netx import read_netx
        try:
            net = read_netx(graph, time_steps=time_steps or 16, encoding=encoding,
                            levels=levels)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    else:
        import nir  # noqa: F401  (nir.read is behind read_graph)
        from ..export.nir_export import from_nir, read_graph
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                g = read_graph(graph)
            for w in caught:
                click.echo(f"Warning: {w.message}", err=True)
        except Exception as exc:            # nir.read raises what h5py and NIR raise
            raise click.ClickException(f"{graph}: not a readable NIR graph ({_one_line(exc)})") \
                from None
        try:
            net = from_nir(g, dt=dt, time_steps=time_steps or 25, encoding=encoding,
                           levels=levels, reset=reset, reset_delay=reset_delay)
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
