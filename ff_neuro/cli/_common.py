"""What the ``ff-neuro`` commands share: the command group, parameter types, output and
one-line errors.

Every command prints a human-readable report, or with ``--json`` exactly one JSON object on
stdout (logs and progress bars go to stderr).
"""
from __future__ import annotations

import json

import click

from ..model.readout import READOUT_KINDS as _READOUTS

DATASET_HELP = ("dataset: 'digits' (scikit-learn's bundled 8x8 digits, the default), "
                "'fashion-mnist' (Debian package dataset-fashion-mnist, or --data-dir), "
                "'idx' with --data-dir, or a directory of MNIST-style IDX files")


class Checked(click.ParamType):
    """A value checked by a function of :mod:`ff_neuro.checks` (the library's own check, so the
    CLI refuses what the Python API refuses, in the same words)."""

    def __init__(self, check, name: str, **kw):
        self.check, self.name, self.kw = check, name, kw

    def convert(self, value, param, ctx):
        if value is None:
            return None
        from .. import checks
        try:
            return getattr(checks, self.check)(param.opts[0] if param else "value", value,
                                               **self.kw)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


COUNT = Checked("count", "count")
SECONDS = Checked("positive", "seconds")


def workers_option(f):
    """``--workers N``: parallel supervised Lava runs (default: half the cores available)."""
    return click.option("--workers", type=COUNT, default=None,
                        help="Lava runs at once, each on its share of the samples with its own "
                             "time limit (the same spikes as one) [default: half the CPU "
                             "cores available: one Lava run keeps about 1.5 busy]")(f)
POSITIVE = Checked("positive", "float")
SEED = Checked("seed", "integer")
STEPS = Checked("time_steps", "steps")


def _out(path, what: str = "output file"):
    """An output path, checked writable before the work that produces it."""
    from .. import checks
    if path is None:
        return None
    try:
        return str(checks.writable_file(path, what))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _log(as_json: bool):
    def log(msg: str) -> None:
        click.echo(msg, err=as_json)
    return log


def _emit(obj: dict, as_json: bool, text: str) -> None:
    if as_json:
        click.echo(json.dumps(obj, indent=2))
    else:
        click.echo(text)


def _load_dataset(name: str, data_dir):
    from ..data import load_dataset
    try:
        return load_dataset(name, data_dir=data_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def _load_model(path):
    from ..model import ModelFileError, load_model
    try:
        return load_model(path)
    except (FileNotFoundError, ModelFileError) as exc:
        raise click.ClickException(str(exc)) from exc


def _library_errors():
    """The errors the library raises for bad input or a failed run (one-line CLI errors)."""
    from ..run import BackendUnavailable
    from ..run.lava import LavaRunError
    return (ValueError, LavaRunError, BackendUnavailable)



def _one_line(exc: BaseException) -> str:
    """An exception as the one-line message a user sees."""
    from ..run.lava import LavaRunError
    if isinstance(exc, LavaRunError):
        return str(exc)
    if isinstance(exc, OSError) and exc.filename and not isinstance(exc, FileNotFoundError):
        return f"cannot use {exc.filename}: {exc.strerror or exc}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, (ValueError, FileNotFoundError)):
        return text
    from ..run import BackendUnavailable
    if isinstance(exc, (BackendUnavailable, OSError)):
        return text
    if isinstance(exc, MemoryError):
        return f"out of memory ({text}): use fewer samples or a smaller batch"
    return (f"unexpected error ({type(exc).__name__}: {text}); run `ff-neuro --debug ...` for "
            "the traceback, and please report it")


class _Main(click.Group):
    """The command group: every failure ends in a one-line message (``--debug``: the full
    traceback, and for a failed Lava run the child's details)."""

    def invoke(self, ctx):
        from ..run.lava.supervisor import Terminated
        try:
            return super().invoke(ctx)
        except Terminated as exc:
            click.echo("Error: terminated (SIGTERM); the Lava run was stopped and its files "
                       "removed", err=True)
            raise SystemExit(exc.code) from None
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            if ctx.params.get("debug"):
                details = getattr(exc, "details", "")
                if details:
                    click.echo(details, err=True)
                raise
            raise click.ClickException(_one_line(exc)) from exc


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ff-neuro")
@click.option("--debug", is_flag=True,
              help="on failure, print the traceback (and a failed Lava run's details) instead "
                   "of a one-line message")
def main(debug) -> None:
    """ff-neuro: spiking networks from training to Loihi/Lava, NIR and energy per inference.

    \b
    The pipeline, one command per stage (`ff-neuro COMMAND --help` for each):
      ff-neuro train     train a network: spiking FF, neo-Hebbian FF or FFGAF-SNN (recipes)
      ff-neuro tune      search configuration fields for the best validation accuracy (Optuna)
      ff-neuro import    read a NIR graph (snnTorch, Norse, Sinabs, ...) or a lava-dl NetX file
      ff-neuro merge     run several trained FF networks side by side as one (ensemble)
      ff-neuro quantize  convert it to Loihi fixed point (report silent/saturated layers)
      ff-neuro export    write NetX HDF5 (Lava / Loihi) or a NIR graph
      ff-neuro evaluate  accuracy on float, the fixed-point emulator, Lava or Loihi 2
      ff-neuro parity    every backend on the same inputs, compared spike by spike
      ff-neuro energy    energy per inference from measured spike counts
      ff-neuro report    one HTML page: the network, accuracy, parity, quantization, energy
      ff-neuro analyze   sparsity, separability and a t-SNE of the hidden layers
      ff-neuro learn     online Hebbian learning on the simulated chip (Lava)
      ff-neuro demo      train -> quantize -> export -> Lava -> energy on the embedded digits
    """


def _model_dataset(net, dataset, data_dir):
    """The dataset a command runs on: ``--dataset``, or the one the model was trained on (from
    the record the model keeps); refused unless its samples and classes fit the model."""
    from ..data import dataset_from_record
    try:
        ds = (_load_dataset(dataset, data_dir) if dataset else
              dataset_from_record(net.dataset or {"name": "digits"}, data_dir))
        net.check_dataset(ds)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    return ds


def _take(ds, samples, what="test"):
    """The first ``samples`` test samples (None: all); refused beyond the split's size."""
    from .. import checks
    x, y = ds.x_test, ds.y_test
    if samples is None:
        return x, y
    try:
        n = checks.samples("--samples", samples, len(y), f"the {what} split of {ds.name}")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    return x[:n], y[:n]


def _describe_layers(net) -> str:
    kinds = [l.kind for l in net.layers]
    parts = []
    for kind in dict.fromkeys(kinds):
        n = kinds.count(kind)
        parts.append(f"{n} {'conv' if kind == 'conv2d' else kind} layer{'s' * (n > 1)}")
    return " + ".join(parts)



class BackendName(click.ParamType):
    """A backend of the registry by name (older spellings accepted, shown by canonical name)."""

    name = "backend"

    def __init__(self, names=None):
        from ..run import BACKENDS
        self.names = tuple(names or BACKENDS)

    def get_metavar(self, param, ctx=None):
        return "[" + "|".join(self.names) + "]"

    def convert(self, value, param, ctx):
        from ..run import canonical
        try:
            name = canonical(value)
        except ValueError:
            name = None
        if name not in self.names:
            self.fail(f"{value!r} is not one of {', '.join(self.names)}", param, ctx)
        return name


def _get_backend(name: str, timeout: float, workers=None):
    """The backend ``name`` (aliases accepted), or a one-line error saying why it cannot run."""
    from ..run import available, canonical, get_backend
    name = canonical(name)
    ok, why = available(name)
    if not ok:
        raise click.ClickException(f"backend {name} cannot run here: {why}")
    return get_backend(name, timeout_s=timeout, workers=workers)


def _needs_quantized(net, model, backend_name):
    from ..run import FIXED_POINT, canonical
    if canonical(backend_name) in FIXED_POINT and net.quantized is None:
        raise click.ClickException(f"backend {canonical(backend_name)} runs the quantized model "
                                   f"(`ff-neuro quantize {model} --out q.h5`)")


READOUT_HELP = ("sweep: one run per candidate label, argmax of goodness (Forward-Forward); "
                "class-groups: one run, the class whose channels fire most (FFGAF); linear: one "
                "run (neutral label) and the model's linear readout; spike-count: the output "
                "neuron that spikes most; membrane: the non-spiking output layer's final "
                "membrane (networks trained with backprop) [default: the model's]")
READOUT_KINDS = list(_READOUTS)

