from __future__ import annotations

from pathlib import Path

import click

from ._common import (COUNT, DATASET_HELP, SECONDS, _emit, _library_errors, _load_model, _log,
                     _model_dataset, _out, _take, main)


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="the HTML page to write [default: MODEL with .report.html]")
@click.option("--dataset", default=None, help=DATASET_HELP + " [default: the model's]")
@click.option("--data-dir", type=click.Path(), default=None)
@click.option("--samples", type=COUNT, default=None,
              help="first N test samples [default: 200, or the whole split if smaller]")
@click.option("--lava-samples", type=COUNT, default=20, show_default=True,
              help="of those, the first N run on Lava (about 1-2 ms per step and sample, "
                   "plus a compile) and compared spike by spike on every backend")
@click.option("--profiles", default="loihi,loihi2,ffgaf-table2", show_default=True,
              help="comma-separated hardware profiles the energy is priced on")
@click.option("--backends", default=None,
              help="comma-separated backends [default: all; those that cannot run here are "
                   "listed with the reason]")
@click.option("--learning", type=click.Path(exists=True, dir_okay=False), default=None,
              help="the JSON file `ff-neuro learn` wrote: adds the on-chip learning section")
@click.option("--title", default=None, help="the page's title [default: from MODEL]")
@click.option("--timeout", type=SECONDS, default=600.0, show_default=True,
              help="time limit of each Lava run in seconds")
@click.option("--json", "as_json", is_flag=True)
def report(model, out, dataset, data_dir, samples, lava_samples, profiles, backends, learning,
           title, timeout, as_json):
    """One self-contained HTML page about MODEL on its dataset: the network and its fit on each
    chip profile, accuracy per backend and readout, parity of float / emulator / Lava spike by
    spike, the quantization table, the energy per inference, the import and on-chip learning
    records when there are any, and the commands that reproduce every figure.

    \b
    Examples:
      ff-neuro report q.h5 --out report.html
      ff-neuro report q.h5 --samples 450 --lava-samples 50 --profiles loihi,truenorth
    """
    from ..deployment_report import build_report
    from ..energy import ProfileError
    out = _out(out or str(Path(model).with_suffix("")) + ".report.html", "report file")
    net = _load_model(model)
    ds = _model_dataset(net, dataset, data_dir)
    _take(ds, samples)                          # more samples than the split: refused here
    names = None if backends is None else [b.strip() for b in backends.split(",") if b.strip()]
    try:
        rep = build_report(net, ds, out, samples=samples,
                           lava_samples=lava_samples, profiles=profiles.split(","),
                           backends=names, timeout_s=timeout, learning=learning,
                           model_path=model, data_dir=data_dir, title=title, log=_log(True))
    except (ProfileError, FileNotFoundError) + _library_errors() as exc:
        raise click.ClickException(str(exc)) from exc
    _emit(rep.to_dict(), as_json, rep.format())
