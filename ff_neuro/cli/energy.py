from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from ._common import (BackendName, COUNT, DATASET_HELP, READOUT_KINDS, _emit, _get_backend,
                     _library_errors, _load_model, _model_dataset, _out, _take, main)


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False), required=False)
@click.option("--profile", default="ffgaf-table2", show_default=True,
              help="hardware profile: a name from hardware_profiles/ or a path to a .yaml")
@click.option("--compare", default=None,
              help="comma-separated profiles to price side by side (e.g. "
                   "ffgaf-table2,lemaire2022-45nm,loihi,truenorth)")
@click.option("--backend", type=BackendName(("emulator", "lava-fixed")),
              default="emulator", show_default=True,
              help="which run of the quantized model the counts come from")
@click.option("--dataset", default=None, help=DATASET_HELP + " [default: the model's]")
@click.option("--data-dir", type=click.Path(), default=None)
@click.option("--samples", type=COUNT, default=100, show_default=True,
              help="first N test samples whose run gives the counts")
@click.option("--mode", type=click.Choice(["inference", "training"]), default="inference",
              show_default=True, help="inference, or the FF training passes per sample "
              "(positive + negative)")
@click.option("--readout", type=click.Choice(READOUT_KINDS), default=None,
              help="sweep: n_classes runs per inference; class-groups: one run; linear: one run "
                   "plus the host readout [default: the model's]")
@click.option("--table", type=click.Choice(["ffgaf"]), default=None,
              help="regenerate FFGAF-SNN Table 2's reproducible rows beside the published ones "
                   "(no MODEL needed)")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
              help="write per-layer rows (per profile) to this CSV file")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="write a stacked bar chart (memory + compute per layer) to this PNG")
@click.option("--neurobench", is_flag=True,
              help="also NeuroBench's metrics of the same run (Yik et al. 2025): footprint, "
                   "connection and activation sparsity, synaptic operations (dense, effective "
                   "MACs and ACs)")
@click.option("--json", "as_json", is_flag=True)
def energy(model, profile, compare, backend, dataset, data_dir, samples, mode, readout, table,
           csv_path, plot_path, as_json, neurobench=False):
    """Energy per inference (FFGAF Table 2 style: parameters, memory-access, compute and total
    mJ) from operation counts measured on the deployed model's run, per layer, for dense and
    conv networks alike (conv layers' synaptic events counted exactly per position).

    MODEL may also be a lava-dl NetX network (``network.net``): read as ``ffn.from_netx``
    reads it, run on an all-zero input unless --dataset names data (the layers' biases then
    drive the activity). Profiles with a static power (loihi2) add the static energy of the
    inference's steps on the chips the fit check counts; every report says how it counts
    synaptic events.

    \b
    Examples:
      ff-neuro energy model.q.h5 --profile loihi --backend lava-fixed --samples 50
      ff-neuro energy network.net --profile loihi2
      ff-neuro energy model.q.h5 --compare ffgaf-table2,lemaire2022-45nm,loihi --plot e.png
      ff-neuro energy --table ffgaf
      ff-neuro energy model.q.h5 --neurobench     # NeuroBench's metrics of the same run
    """
    from ..energy import ProfileError, ffgaf_rows, fit_or_none, format_ffgaf_table, \
        load_profile, measure_activity
    from ..run import infer
    if table == "ffgaf":
        from ..energy import ffgaf_table
        rows = ffgaf_table()
        _emit(rows, as_json, format_ffgaf_table(rows))
        return
    if model is None:
        raise click.UsageError("give a MODEL file (or --table ffgaf)")
    if neurobench and mode == "training":
        raise click.UsageError("--neurobench measures inference runs: use --mode inference")
    csv_path, plot_path = _out(csv_path, "CSV file"), _out(plot_path, "plot")
    net, netx_file = _energy_model(model)
    if net.quantized is None:
        raise click.ClickException("energy is measured on the deployed (quantized) model: run "
                                   "`ff-neuro quantize` first")
    try:
        r = net.get_readout(readout)
    except ValueError as exc:
        raise click.ClickException(f"{model}: {exc}") from exc
    if mode == "training" and r.kind != "sweep":
        raise click.UsageError(f"--mode training prices Forward-Forward's label-sweep passes; "
                               f"this prices the {r.kind} readout: use --mode inference")
    profiles = [p.strip() for p in (compare or profile).split(",") if p.strip()]
    if not profiles:
        raise click.UsageError("--profile / --compare: give at least one profile name")
    try:
        for p in profiles:
            load_profile(p)
    except (ProfileError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if netx_file and dataset is None:         # a NetX file names no dataset: no input
        x, y = np.zeros((1, net.n_features), np.float32), None
    else:
        ds = _model_dataset(net, dataset, data_dir)
        x, y = _take(ds, samples)
    be = _get_backend(backend, 600.0)
    try:
        # NeuroBench counts recurrent operations per step (the last step reaches no later one)
        res = infer(be, net, x, r, keep_counts=True,
                    keep_spikes=neurobench and any(q.recurrent is not None for q in net.layers))
        hard = net.training.get("config", {}).get("negatives") == "hard"
        act = measure_activity(net, res, mode=mode, labels=y, hard_negatives=hard,
                               backend=be.name)
    except _library_errors() as exc:
        raise click.ClickException(str(exc)) from exc
    reports = {}
    for p in profiles:
        try:
            reports[p] = act.report(p, fit=fit_or_none(net, p))
        except ValueError as exc:
            raise click.ClickException(f"profile {p}: {exc}") from exc
    meta = {"backend": be.name, "samples": int(x.shape[0]), "mode": mode, "readout": r.kind,
            "input_spikes_per_run": act.input_spikes_per_run,
            "layer_spikes_per_run": act.layer_spikes_per_run,
            "layers": [a.to_dict() for a in act.layers]}
    extra = ""
    if len(reports) == 1:                   # beside the published rows it compares with
        rows = ffgaf_rows(net, act, next(iter(reports.values())))
        if rows:
            meta["ffgaf_rows"] = rows
            extra = "\n\n" + format_ffgaf_table(rows, decimals=4)
    if neurobench:                          # NeuroBench's metrics of the same run
        from ..energy import neurobench_metrics
        try:
            nb = neurobench_metrics(net, res, backend=be.name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        meta["neurobench"] = nb.to_dict()
        extra += "\n\n" + nb.format_table()
    what = (f"{x.shape[0]} samples" if y is not None or not netx_file else
            "an all-zero input: the layers' biases drive the activity; --dataset gives data")
    _emit_reports(reports, meta, as_json, csv_path, plot_path,
                  f"{Path(model).name}: {mode}, {r.kind}, counts from {be.name} "
                  f"({what})", extra)


def _energy_model(path):
    """``(network, is_netx)``: an ff-neuro model file, or a NetX HDF5 network (lava-dl's
    ``network.net``) read with :func:`ff_neuro.export.netx.read_netx` (its
    ``/simulation/tSample`` steps per inference when present, else 16)."""
    from ..export.netx import is_netx, read_netx
    if not is_netx(path):
        return _load_model(path), False
    import h5py
    with h5py.File(path, "r") as f:
        steps = int(f["simulation/tSample"][()]) if "simulation/tSample" in f else 16
    try:
        return read_netx(path, time_steps=steps), True
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _emit_reports(reports, meta, as_json, csv_path, plot_path, plot_title, extra=""):
    """Write the CSV / plot if asked, then print one EnergyReport (its table) or several (the
    comparison, then each table)."""
    from ..energy.render import compare_table, plot_reports, write_csv
    if csv_path:
        write_csv(reports, csv_path)
    if plot_path:
        plot_reports(reports, plot_path, title=plot_title)
    if len(reports) == 1:
        rep = next(iter(reports.values()))
        d = {**rep.to_dict(), "measured": meta}
        text = rep.format_table()
    else:
        d = {"measured": meta, "profiles": {k: r.to_dict() for k, r in reports.items()}}
        text = compare_table(reports) + "\n\n" + "\n\n".join(
            f"[{k}]\n{r.format_table()}" for k, r in reports.items())
    text += extra
    if csv_path:
        text += f"\n\ncsv: {csv_path}"
    if plot_path:
        text += f"\nplot: {plot_path}"
    _emit(d, as_json, text)
