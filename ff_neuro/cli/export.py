from __future__ import annotations

import click

from ._common import _describe_layers, _emit, _load_model, _out, main


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["netx", "nir"]), default="netx",
              show_default=True,
              help="netx: HDF5 for lava-dl's netx.hdf5.Network (quantized model); nir: the NIR "
                   "graph (Linear/Affine or Conv2d, Flatten, LIF/IF nodes; read back with "
                   "nir.read and ff_neuro.export.nir_export.from_nir)")
@click.option("--quantized/--float", default=None,
              help="NIR only: export the integer (quantized) or float parameters "
                   "[default: quantized when the model is]")
@click.option("--dt", type=float, default=None,
              help="NIR only: the time step the graph's time constants refer to [default: "
                   "1e-4, what snnTorch's NIR reader assumes; read with Norse's "
                   "from_nir(graph, dt=DT)]")
@click.option("--r-one", is_flag=True,
              help="NIR only: write every neuron with r = 1 and fold its input gain into the "
                   "weights, for readers that ignore NIR's r (Norse)")
@click.option("--out", type=click.Path(dir_okay=False), required=True)
@click.option("--profile", default="loihi", show_default=True,
              help="chip profile for the fit check (cores, neurons and synapses per core)")
@click.option("--json", "as_json", is_flag=True)
def export(model, fmt, quantized, dt, r_one, out, profile, as_json):
    """Export MODEL for deployment: NetX HDF5 (Lava / Loihi) or NIR; prints whether the
    network fits one chip of --profile."""
    from ..energy import ProfileError, fit_check, load_profile
    out = _out(out, "export file")
    net = _load_model(model)
    try:
        load_profile(profile)
    except (ProfileError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(f"--profile: {exc}") from exc
    shapes = [list(s) for s in net.shapes]
    notes = ""
    if net.encoder.message_bits:
        notes += f"; graded input, input_message_bits={net.encoder.message_bits}"
    if hasattr(net.encoder, "macs"):
        notes += "; the encoder runs on the host"
    if fmt == "netx" and (r_one or dt is not None):
        raise click.UsageError("--dt and --r-one are options of --format nir")
    if fmt == "netx":
        from ..export.netx import write_netx
        if net.quantized is None:
            raise click.ClickException(f"{model} is not quantized: run `ff-neuro quantize` first")
        write_netx(net, out)
        msg = f"wrote {out} (NetX, {_describe_layers(net)}, shapes {shapes}{notes})"
        q = True
    else:
        from ..export.nir_export import write_nir
        q = (net.quantized is not None) if quantized is None else quantized
        if r_one and quantized is None:
            q = False                       # folded gains are not integers: the float layers
        try:
            write_nir(net, out, quantized=q, dt=dt, r_one=r_one)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        msg = (f"wrote {out} (NIR graph, {_describe_layers(net)}, "
               f"{'integer' if q else 'float'} parameters, shapes {shapes}{notes}; the readout "
               "is in the graph's metadata)")
    try:
        fit = fit_check(net, profile)
    except (ProfileError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(f"fit check: {exc}") from exc
    d = {"out": out, "format": fmt, "quantized": q, "sizes": net.sizes, "shapes": shapes,
         "fit": fit.to_dict()}
    _emit(d, as_json, msg + "\n\n" + fit.format())
