from __future__ import annotations

from pathlib import Path

import click

from ._common import COUNT, DATASET_HELP, _emit, _load_model, _model_dataset, _out, _take, main


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--dataset", default=None, help=DATASET_HELP + " [default: the model's]")
@click.option("--data-dir", type=click.Path(), default=None)
@click.option("--samples", type=COUNT, default=None,
              help="test samples analysed, at least 10 [default: 1000, or the whole test split "
                   "if smaller]")
@click.option("--tsne", "tsne_path", type=click.Path(dir_okay=False), default=None,
              help="t-SNE PNG of the last hidden layer [default: next to MODEL]")
@click.option("--json", "as_json", is_flag=True)
def analyze(model, dataset, data_dir, samples, tsne_path, as_json):
    """Latent analytics of MODEL's hidden activity (neutral label, so the label inputs do not
    give the class away; float backend): Hoyer sparsity index (eq. 9 of Terres-Escudero et al.),
    separability index (fraction of 5 nearest neighbours with the same label, eq. 10) per layer,
    and a t-SNE plot. Silent and saturated layers are reported as such."""
    from ..analysis import MIN_SAMPLES, analyze_latents, tsne_figure
    from ..fileio import save_figure
    tsne_path = _out(tsne_path or str(Path(model).with_suffix("")) + ".tsne.png", "t-SNE plot")
    net = _load_model(model)
    ds = _model_dataset(net, dataset, data_dir)
    samples = samples or min(1000, len(ds.y_test))
    if samples < MIN_SAMPLES:
        raise click.BadParameter(f"needs at least {MIN_SAMPLES} samples, got {samples}",
                                 param_hint="'--samples'")
    x, y = _take(ds, samples)
    res = analyze_latents(net, x, y)
    layers = [l.as_dict() for l in res.layers]
    fig = tsne_figure(res)
    if fig is not None:
        save_figure(fig, tsne_path)
    else:
        tsne_path = None
    d = {"model": model, "samples": int(len(y)), "layers": layers, "tsne": tsne_path,
         "tsne_skipped": res.tsne_skip_reason}

    def fmt(v):
        return "n/a" if v is None else f"{v:.3f}"
    text = "\n".join([f"layer {l['layer']}: Hoyer {fmt(l['hoyer'])}, separability "
                       f"{fmt(l['separability'])}, rate {l['rate']:.3f}"
                       + ("" if l["state"] == "active" else f" ({l['state']})")
                       for l in layers]
                      + [f"t-SNE: {tsne_path}" if tsne_path else res.tsne_skip_reason])
    _emit(d, as_json, text)
