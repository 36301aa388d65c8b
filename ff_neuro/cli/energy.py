from __future__ import annotations

from pathlib import Path

import click

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
@click.option("--json", "as_json", is_flag=True)
def energy(model, profile, compare, backend, dataset, data_dir, samples, mode, readout, table,
           csv_path, plot_path, as_json):
    """Energy per inference (FFGAF Table 2 style: parameters, memory-access, compute and total
    mJ) from operation counts measured on the deployed model's run, per layer, for dense and
    conv networks alike (conv layers' synaptic events counted exactly per position).

    \b
    Examples:
      ff-neuro energy model.q.h5 --profile loihi --backend lava-fixed --samples 50
      ff-neuro energy model.q.h5 --compare ffgaf-table2,lemaire2022-45nm,loihi --plot e.png
      ff-neuro energy --table ffgaf
    """
    from ..energy import ProfileError, ffgaf_rows, format_ffgaf_table, load_profile, \
        measure_activity
    from ..run import infer
    if table == "ffgaf":
        from ..energy import ffgaf_table
        rows = ffgaf_table()
        _emit(rows, as_json, format_ffgaf_table(rows))
        return
    if model is None:
        raise click.UsageError("give a MODEL file (or --table ffgaf)")
    csv_path, plot_path = _out(csv_path, "CSV file"), _out(plot_path, "plot")
    net = _load_model(model)
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
    ds = _model_dataset(net, dataset, data_dir)
    x, y = _take(ds, samples)
    be = _get_backend(backend, 600.0)
    try:
        res = infer(be, net, x, r, keep_counts=True)
        hard = net.training.get("config", {}).get("negatives") == "hard"
        act = measure_activity(net, res, mode=mode, labels=y, hard_negatives=hard,
                               backend=be.name)
    except _library_errors() as exc:
        raise click.ClickException(str(exc)) from exc
    reports = {}
    for p in profiles:
        try:
            reports[p] = act.report(p)
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
    _emit_reports(reports, meta, as_json, csv_path, plot_path,
                  f"{Path(model).name}: {mode}, {r.kind}, counts from {be.name} "
                  f"({x.shape[0]} samples)", extra)


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
