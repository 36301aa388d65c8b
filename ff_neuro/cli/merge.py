from __future__ import annotations

from pathlib import Path

import click

from ._common import _emit, _load_model, _out, main


@main.command()
@click.argument("models", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="merged (float) model file to write")
@click.option("--json", "as_json", is_flag=True)
def merge(models, out, as_json):
    """Merge independently trained FF models (MODELS, two or more) into one wider model.

    Layer 1 stacks the members' neurons on the shared input, deeper layers are block-diagonal,
    so each member's spikes are unchanged and the label sweep sums the members' goodness (an
    ensemble vote in one deployable network). Train the members in parallel, e.g. one per core
    with different --seed, then quantize the merged model as usual.
    """
    from ..model import save_model
    from ..model.merge import merge_networks
    out = _out(out, "model file")
    if len({str(Path(m).resolve()) for m in models}) < len(models):
        raise click.UsageError("the same model file is given twice: merge different members")
    from ..model.merge import dropped
    nets = [_load_model(m) for m in models]
    try:
        net = merge_networks(nets)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    save_model(net, out)
    left = dropped(nets)
    note = (f" (the members' {' and '.join(left)} not carried over: quantize the merged model "
            "and fit its readout again)" if left else "")
    _emit({"model": out, "members": list(models), "sizes": net.sizes, "dropped": left},
          as_json, f"saved {out}: {len(models)} members, sizes {net.sizes}{note}")
