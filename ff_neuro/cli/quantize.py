from __future__ import annotations

import click

from ..config import QuantConfig
from ._common import DATASET_HELP, _emit, _library_errors, _load_model, _model_dataset, _out, main


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--dataset", default=None, help=DATASET_HELP + " [default: the model's]")
@click.option("--data-dir", type=click.Path(), default=None)
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="quantized model file to write")
@click.option("--json", "as_json", is_flag=True)
def quantize(model, dataset, data_dir, out, as_json):
    """Quantize MODEL to Loihi fixed point, calibrated on the dataset's training data (dense and
    conv layers alike; the report flags layers that fall silent or saturate)."""
    import warnings
    from ..model import save_model
    from ..pipeline import quantize_for_dataset
    from ..quantization import QuantizationError
    out = _out(out, "model file")
    net = _load_model(model)
    ds = _model_dataset(net, dataset, data_dir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            qnet, rep = quantize_for_dataset(net, ds, QuantConfig())
        except QuantizationError as exc:
            raise click.ClickException(f"cannot quantize {model}: {exc}") from exc
        except _library_errors() as exc:
            raise click.ClickException(str(exc)) from exc
    for w in caught:
        click.echo(f"WARNING: {w.message}", err=True)
    save_model(qnet, out)
    _emit({"model": out, **rep.to_dict()}, as_json, rep.format_table() + f"\nsaved {out}")
