"""``ff-neuro``: the command line (click).

Every command prints a human-readable report, or with ``--json`` exactly one JSON object on
stdout (logs and progress bars go to stderr).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np

from .config import (FF_RECIPES, LOSSES, DemoConfig, FFTrainConfig, QuantConfig,
                     per_layer_floats)
from .data.augment import AUGMENTS
from .fileio import write_json
from .model.readout import READOUT_KINDS as _READOUTS

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
        from . import checks
        try:
            return getattr(checks, self.check)(param.opts[0] if param else "value", value,
                                               **self.kw)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


COUNT = Checked("count", "count")
SECONDS = Checked("positive", "seconds")
POSITIVE = Checked("positive", "float")
SEED = Checked("seed", "integer")
STEPS = Checked("time_steps", "steps")


def _out(path, what: str = "output file"):
    """An output path, checked writable before the work that produces it."""
    from . import checks
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
    from .data import load_dataset
    try:
        return load_dataset(name, data_dir=data_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def _load_model(path):
    from .model import ModelFileError, load_model
    try:
        return load_model(path)
    except (FileNotFoundError, ModelFileError) as exc:
        raise click.ClickException(str(exc)) from exc


def _library_errors():
    """The errors the library raises for bad input or a failed run (one-line CLI errors)."""
    from .run import BackendUnavailable
    from .run.lava import LavaRunError
    return (ValueError, LavaRunError, BackendUnavailable)


def _int_list(ctx, param, value):
    if value is None:
        return None
    try:
        out = tuple(int(v) for v in str(value).split(",") if v.strip())
    except ValueError:
        raise click.BadParameter("expected comma-separated integers, e.g. 200,200") from None
    if not out or min(out) < 1:
        raise click.BadParameter("layer sizes must be positive integers")
    return out


# FFTrainConfig fields whose ``train`` option has another name
_FIELD_OPTION = {"label_embedding": "embedding", "receptive_shared": "locally_connected"}


def _recipe_overrides(ctx: click.Context, recipe: dict) -> dict:
    """The fields of ``recipe`` whose ``train`` option was left at its default (an option given
    on the command line, or through an environment variable, beats the recipe)."""
    from click.core import ParameterSource
    defaults = (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
    return {k: v for k, v in recipe.items()
            if ctx.get_parameter_source(_FIELD_OPTION.get(k, k)) in defaults}


def _one_line(exc: BaseException) -> str:
    """An exception as the one-line message a user sees."""
    from .run.lava import LavaRunError
    if isinstance(exc, LavaRunError):
        return str(exc)
    if isinstance(exc, OSError) and exc.filename and not isinstance(exc, FileNotFoundError):
        return f"cannot use {exc.filename}: {exc.strerror or exc}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, (ValueError, FileNotFoundError)):
        return text
    from .run import BackendUnavailable
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
        from .run.lava.supervisor import Terminated
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
    """ff-neuro: spiking Forward-Forward networks from training to Loihi/Lava and energy.

    \b
    The pipeline, one command per stage:
      ff-neuro train     train a spiking FF network (snnTorch, layer-local, no backprop)
      ff-neuro merge     run several trained FF networks side by side as one (ensemble)
      ff-neuro quantize  convert it to Loihi fixed point (report silent/saturated layers)
      ff-neuro export    write a NetX HDF5 file that lava-dl's netx.hdf5.Network loads
      ff-neuro evaluate  accuracy on torch, the fixed-point emulator or Lava fixed_pt
      ff-neuro energy    energy per inference from measured spike counts
      ff-neuro demo      all of the above on the embedded digits dataset
    """


@main.command()
@click.option("--epochs", type=COUNT, default=None, help="training epochs [default: 30]")
@click.option("--lava-samples", type=COUNT, default=100, show_default=True,
              help="test samples run on Lava fixed_pt (x10 candidate labels each)")
@click.option("--profile", default="ffgaf-table2", show_default=True,
              help="hardware profile for the energy table (see hardware_profiles/)")
@click.option("--out-dir", type=click.Path(file_okay=False), default="runs/demo",
              show_default=True, help="where model.h5, model.netx.h5 and demo.json go")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--timeout", type=SECONDS, default=600.0, show_default=True,
              help="time limit of the Lava run in seconds")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def demo(epochs, lava_samples, profile, out_dir, seed, timeout, as_json):
    """Train -> quantize -> export -> Lava -> energy on the embedded 8x8 digits.

    Trains a 2x200 spiking FF MLP (rate-coded input, T = 16, one-hot label appended), quantizes
    it to Loihi fixed point, writes model.h5 and a NetX file, evaluates the float model and the
    fixed-point emulator on the whole test split, runs --lava-samples test samples through Lava
    fixed_pt (Loihi2SimCfg) and compares every spike with the emulator, and prints the
    FFGAF-style energy table from the Lava run's spike counts.
    """
    from .data import load_digits
    from .pipeline import run_demo
    log = _log(as_json)
    train = FFTrainConfig(seed=seed, epochs=epochs if epochs is not None else 30)
    cfg = DemoConfig(train=train, lava_samples=lava_samples, profile=profile,
                     out_dir=out_dir, lava_timeout_s=timeout)
    _out(Path(out_dir) / "demo.json", "output folder")
    from .energy import load_profile
    from .run import available
    load_profile(profile)                    # a bad profile is refused before training
    ok, why = available("lava-fixed")        # and a missing Lava too
    if not ok:
        raise click.ClickException(f"the demo runs Lava fixed_pt, which cannot run here: {why}")
    ds = load_digits()
    result = run_demo(ds, cfg, progress=sys.stderr.isatty(), log=log)
    d = result.to_dict()
    write_json(Path(out_dir) / "demo.json", d)
    _emit(d, as_json, result.format())


@main.command()
@click.option("--dataset", default="digits", show_default=True, help=DATASET_HELP)
@click.option("--data-dir", type=click.Path(), default=None,
              help="directory holding the IDX files (overrides the default location)")
@click.option("--algo", type=click.Choice(["ff", "hebbian", "ffgaf"]), default="ff",
              show_default=True,
              help="ff: spiking Forward-Forward (layer-local surrogate gradients); hebbian: the "
                   "neo-Hebbian FF rule of Terres-Escudero et al. (no autograd; uses --hidden, "
                   "--time-steps, --epochs, --batch-size (1 = online), --lr, --trace, "
                   "--probability, --seed); ffgaf: FFGAF-SNN conv network (seed 001; uses "
                   "--preset, --allocation, --epochs, --time-steps, --lr, --batch-size, --seed, "
                   "--dropout, --augment, --device, --max-minutes, --checkpoint, --resume)")
@click.option("--preset", type=click.Choice(["micro", "tiny", "small", "paper"]),
              default="small", show_default=True,
              help="ffgaf: channels micro 20,20,20,40 (T=4), tiny 20,30,30,60 (T=6), small "
              "20,60,60,120, paper 40,120,120,240 (T=10); strides 1,2,1,2")
@click.option("--allocation", type=click.Choice(["class-aware", "uniform"]),
              default="class-aware", show_default=True,
              help="ffgaf: channels per class from inter-class similarity (eq. 1-4, phi=2) "
                   "or equal")
@click.option("--max-minutes", type=Checked("positive", "minutes"), default=None,
              help="ffgaf: stop training after this many minutes (checked every batch); "
              "ff: a time budget for training and the readout fit: the readout's share is "
              "estimated from a timed probe and kept aside, the training schedule (at most "
              "--epochs) is sized to the rest from another probe, re-sized every 10 epochs from "
              "the measured epoch time, and training stops at it (with --resume the budget "
              "counts the earlier run's time)")
@click.option("--no-readout", is_flag=True,
              help="ff: do not fit the one-pass linear readout after training (on large "
              "datasets it takes minutes; the label sweep needs none)")
@click.option("--threads", type=COUNT, default=None,
              help="ff, ffgaf: torch (and LIF kernel) CPU threads; 1 is much faster on a busy "
              "shared CPU, and lets two runs (seeds to merge) share two cores [default: 2 for "
              "ffgaf, torch's choice for ff]")
@click.option("--device", default="cpu", show_default=True,
              help="ffgaf: torch device to train on (cpu, cuda, cuda:1); the paper preset's "
              "50 epochs took 4.7 minutes on one H100")
@click.option("--trace", type=click.Choice(["li", "relu", "hard_li"]), default="li",
              show_default=True, help="hebbian: output trace")
@click.option("--probability", type=click.Choice(["symmetric", "sigmoid"]), default="symmetric",
              show_default=True, help="hebbian: P_sym (split layer) or P_sigma")
@click.option("--trace-tau", type=float, default=None,
              help="hebbian: decay of the LI / Hard-LI output trace [default: 0.85]")
@click.option("--lr-decay-to", type=float, default=None,
              help="hebbian: the learning rate decays linearly over the epochs to this "
              "fraction of --lr (the benchmark's tuned online run: 0.02) [default: constant]")
@click.option("--weight-decay", type=float, default=0.0, show_default=True,
              help="hebbian: W <- (1 - lr * weight_decay) W after every presentation; ff: the "
              "same decoupled decay after every optimizer step (AdamW)")
@click.option("--dropout", type=float, default=0.0, show_default=True,
              help="ff: training-time dropout probability of each layer's inputs (image "
              "inputs and the spikes into the next layer; the label inputs are kept); ffgaf: "
              "of each hidden block's input spikes")
@click.option("--gain", type=float, default=None,
              help="rate-coding gain, spike probability = clip(gain * pixel, 0, 1) "
              "[default: 1.0 for ff, 0.25 (the paper's) for hebbian]")
@click.option("--recipe", type=click.Choice(sorted(FF_RECIPES)), default=None,
              help="ff: a named recipe that sets the options below (those given on the "
              "command line still win): ghader = Ghader et al. 2025 (2x500, swish alpha 6, hard "
              "negatives, overlay label, batch 4096, lr 8e-4, 300 epochs); fashion = this "
              "project's validated Fashion-MNIST recipe (2x500, graded input, beta 0.99, "
              "softmax over 3 wrong labels, alpha 60, surrogate slope 2.5, bf16, cosine, 357 "
              "epochs = 60 min on one core: 89.1-89.3 % alone; pair it with --max-minutes); "
              "fashion-local = fashion with a locally connected first layer (800 neurons, 8 "
              "maps of 7x7 patches, stride 3; 257 epochs = 60 min: 90.1 % alone, 90.2 % merged "
              "with a fashion network by ff-neuro merge)")
@click.option("--epochs", type=COUNT, default=30, show_default=True)
@click.option("--hidden", callback=_int_list, default=None,
              help="hidden layer sizes [default: 200,200 for ff, 200 for hebbian]")
@click.option("--receptive-field", callback=_int_list, default=None,
              help="ff: CHANNELS,KERNEL,STRIDE: the first layer's neurons see KERNELxKERNEL "
              "image patches STRIDE apart, in CHANNELS maps (needs 2-D images; the first "
              "--hidden size must be CHANNELS x the grid, the error says how many); it still "
              "deploys as a dense layer (zeros off the patches)")
@click.option("--locally-connected", is_flag=True,
              help="ff, with --receptive-field: every patch has its own weights (Hinton's local "
              "receptive fields) instead of one kernel per map (a convolution)")
@click.option("--time-steps", type=STEPS, default=None,
              help="[default: 16 for ff, 23 for hebbian]")
@click.option("--threshold", default="1.0", show_default=True,
              help="LIF threshold, one value or one per layer (comma-separated)")
@click.option("--beta", default="0.9", show_default=True,
              help="ff: LIF membrane decay per step, one value or one per layer "
              "(comma-separated)")
@click.option("--loss", type=click.Choice(LOSSES), default="swish", show_default=True,
              help="swish (Ghader et al.), SymBa, Hinton's sigmoid(G - theta), or softmax: "
              "cross-entropy over the goodness of every label (all wrong labels as negatives, "
              "C passes per sample)")
@click.option("--softmax-negatives", type=int, default=0, show_default=True,
              help="--loss softmax: wrong labels drawn per sample (K + 1 passes); 0: all")
@click.option("--surrogate-slope", type=float, default=FFTrainConfig.surrogate_slope,
              show_default=True,
              help="ff: slope k of the fast-sigmoid surrogate gradient 1 / (k |v - vth| + 1)^2 "
              "(smaller: wider; 2.5 was the best Fashion-MNIST validation trial)")
@click.option("--label-smoothing", type=float, default=0.0, show_default=True,
              help="--loss softmax: mix the one-hot target with the uniform distribution "
              "over the candidates (a regulariser)")
@click.option("--alpha", type=float, default=20.0, show_default=True, help="loss sharpness")
@click.option("--theta", type=float, default=0.2, show_default=True,
              help="goodness threshold of the hinton loss")
@click.option("--goodness", type=click.Choice(["mean_sq", "sum_sq"]), default="mean_sq",
              show_default=True, help="mean or sum over neurons of squared spike rates")
@click.option("--negatives", type=click.Choice(["random", "hard", "hybrid", "noise", "masking"]),
              default="random", show_default=True,
              help="random / hard (by goodness) wrong labels, or label-free corrupted images")
@click.option("--embedding", type=click.Choice(["append", "overlay", "code"]), default="append",
              show_default=True, help="one-hot appended, one-hot overlay on the first pixels, "
              "or random binary codes appended")
@click.option("--encoding", type=click.Choice(["rate", "graded"]), default="rate",
              show_default=True, help="binary rate-coded spikes, or graded spikes carrying "
              "the pixel value (direct current)")
@click.option("--levels", type=int, default=15, show_default=True,
              help="graded-spike levels (--encoding graded)")
@click.option("--skip-first-layer", is_flag=True,
              help="label sweep: sum goodness from layer 2 on")
@click.option("--lr", type=float, default=None,
              help="learning rate [default: 2e-3 (Adam) for ff, 1.0 for hebbian]")
@click.option("--batch-size", type=COUNT, default=None,
              help="[default: 64 for ff, 1 (online) for hebbian]")
@click.option("--matmul-precision", type=click.Choice(["fp32", "bf16"]), default="fp32",
              show_default=True, help="ff: bf16 mixed-precision synaptic matmuls (2-2.7x less "
              "matmul time with AVX512-BF16, ~1.7x per step; weights and optimizer stay fp32)")
@click.option("--lr-schedule", type=click.Choice(["constant", "cosine"]), default="constant",
              show_default=True, help="ff: cosine decays the learning rate from --lr to 0 over "
              "--epochs")
@click.option("--augment", type=click.Choice(AUGMENTS),
              default="none", show_default=True,
              help="ff, ffgaf: training-time augmentation: random left-right mirror (for "
              "mirror-symmetric classes such as clothing, not digits) and/or random shifts of "
              "up to --augment-shift pixels")
@click.option("--augment-shift", type=int, default=2, show_default=True,
              help="ff, ffgaf: largest shift in pixels of --augment shift")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--eval-samples", type=int, default=1000, show_default=True,
              help="training samples whose accuracy the progress bar shows each epoch (0: off)")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="checkpoint file written every epoch [default: OUT.ckpt.h5]")
@click.option("--resume", is_flag=True, help="continue from the checkpoint")
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="model file to write (HDF5)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON summary")
def train(dataset, data_dir, algo, trace, probability, epochs, hidden, time_steps, threshold,
          beta, loss, alpha, theta, goodness, negatives, embedding, encoding, levels,
          skip_first_layer, lr, batch_size, seed, eval_samples, checkpoint, resume, out, as_json,
          preset="small", allocation="class-aware", max_minutes=None, threads=None,
          matmul_precision="fp32", lr_schedule="constant", augment="none", augment_shift=2,
          trace_tau=None, lr_decay_to=None, weight_decay=0.0, gain=None, dropout=0.0,
          softmax_negatives=0, label_smoothing=0.0, surrogate_slope=FFTrainConfig.surrogate_slope,
          device="cpu", recipe=None, receptive_field=None, locally_connected=False,
          no_readout=False):
    """Train a spiking Forward-Forward network and save it (float) to --out.

    Shows a progress bar (epoch, loss, goodness gap, training accuracy, samples/s), writes a
    checkpoint every epoch (rerun with --resume to continue after an interruption), fits the
    one-pass linear readout (unless --no-readout), and reports test accuracy by label sweep and
    by readout.
    """
    import time
    from .model import save_model
    from .pipeline import attach_readout
    from .run import get_backend, label_sweep, one_pass
    from .training import FFTrainer
    from .training.budget import fit_in_budget
    given = [f for f, v in (("--trace-tau", trace_tau), ("--lr-decay-to", lr_decay_to))
             if v is not None]
    if given and algo != "hebbian":
        raise click.UsageError(f"{', '.join(given)}: options of --algo hebbian")
    if ((softmax_negatives or label_smoothing or surrogate_slope != FFTrainConfig.surrogate_slope)
            and algo != "ff"):
        raise click.UsageError("--softmax-negatives, --label-smoothing, --surrogate-slope: "
                               "options of --algo ff")
    if dropout and algo == "hebbian":
        raise click.UsageError("--dropout: an option of --algo ff and ffgaf")
    if augment != "none" and algo == "hebbian":
        raise click.UsageError("--augment: an option of --algo ff and ffgaf")
    for flag, value in (("--max-minutes", max_minutes), ("--threads", threads)):
        if value is not None and algo == "hebbian":
            raise click.UsageError(f"{flag}: an option of --algo ff and ffgaf")
    if recipe is not None and algo != "ff":
        raise click.UsageError("--recipe: an option of --algo ff")
    if (receptive_field or locally_connected) and algo != "ff":
        raise click.UsageError("--receptive-field, --locally-connected: options of --algo ff")
    if locally_connected and not receptive_field:
        raise click.UsageError("--locally-connected needs --receptive-field")
    if device != "cpu" and algo != "ffgaf":
        raise click.UsageError("--device: an option of --algo ffgaf (ff and hebbian train on "
                               "the CPU)")
    if weight_decay and algo == "ffgaf":
        raise click.UsageError("--weight-decay: an option of --algo ff and hebbian")
    if gain is not None and algo == "ffgaf":
        raise click.UsageError("--gain: ffgaf's first block takes the pixels as analog input")
    if no_readout and algo != "ff":
        raise click.UsageError("--no-readout: an option of --algo ff")
    out = _out(out, "model file")
    checkpoint = _out(checkpoint or str(out) + ".ckpt.h5", "checkpoint file")

    def given_or(value, default):
        return default if value is None else value

    ds = _load_dataset(dataset, data_dir)
    if algo == "ffgaf":
        return _train_ffgaf(ds, preset, allocation, epochs, time_steps, lr, batch_size, seed,
                            max_minutes, checkpoint, resume, out, as_json, given_or(threads, 2),
                            dict(dropout=dropout, augment=augment, augment_shift=augment_shift),
                            device)
    if algo == "hebbian":
        extra = {k: v for k, v in (("trace_tau", trace_tau), ("lr_decay_to", lr_decay_to),
                                   ("gain", gain)) if v is not None}
        time_steps = given_or(time_steps, 23)
        return _train_hebbian(ds, trace, probability, epochs, given_or(hidden, (200,)),
                              time_steps, given_or(lr, 1.0), given_or(batch_size, 1), seed,
                              eval_samples, out, as_json, weight_decay=weight_decay, **extra)
    hidden, time_steps = given_or(hidden, (200, 200)), given_or(time_steps, 16)
    lr, batch_size = given_or(lr, 2e-3), given_or(batch_size, 64)
    try:
        kw = dict(
            hidden=hidden, time_steps=time_steps, threshold=per_layer_floats(threshold),
            beta=per_layer_floats(beta), loss=loss, alpha=alpha, theta=theta, goodness=goodness,
            negatives=negatives, label_embedding=embedding, encoding=encoding, levels=levels,
            goodness_from_layer=1 if skip_first_layer else 0, lr=lr, batch_size=batch_size,
            gain=1.0 if gain is None else gain,
            epochs=epochs, seed=seed, eval_samples=eval_samples,
            matmul_precision=matmul_precision, lr_schedule=lr_schedule, augment=augment,
            augment_shift=augment_shift, dropout=dropout, weight_decay=weight_decay,
            softmax_negatives=softmax_negatives, label_smoothing=label_smoothing,
            surrogate_slope=surrogate_slope, receptive_field=receptive_field or (),
            receptive_shared=not locally_connected)
        if recipe is not None:
            kw.update(_recipe_overrides(click.get_current_context(), FF_RECIPES[recipe]))
        cfg = FFTrainConfig(**kw)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    import torch
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        trainer = FFTrainer(cfg, ds)
    except ValueError as exc:  # settings that do not fit the data (receptive-field geometry)
        raise click.ClickException(str(exc)) from exc
    t = time.perf_counter()
    budget = None
    reserve_s = 0.0
    if max_minutes is not None and not no_readout:
        from .pipeline import readout_seconds
        reserve_s = readout_seconds(trainer.network(), ds)
        if reserve_s > 0.5 * max_minutes * 60:
            raise click.ClickException(
                f"the readout fit alone is estimated at {reserve_s / 60:.1f} of the "
                f"{max_minutes:g} minutes: raise --max-minutes, or pass --no-readout")
    try:
        if max_minutes is not None:
            net, budget = fit_in_budget(trainer, max_minutes - reserve_s / 60, most=cfg.epochs,
                                        progress=True, checkpoint=checkpoint, resume=resume)
        else:
            net = trainer.fit(progress=True, checkpoint=checkpoint, resume=resume)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    minutes = (time.perf_counter() - t) / 60
    flt = get_backend("float")
    acc = label_sweep(flt, net, ds.x_test).accuracy(ds.y_test)
    acc_ro = readout_s = None
    if not no_readout:
        t_ro = time.perf_counter()
        attach_readout(net, ds, progress=True)
        readout_s = time.perf_counter() - t_ro
        acc_ro = one_pass(flt, net, ds.x_test,
                          readout=net.get_readout("linear")).accuracy(ds.y_test)
    save_model(net, out)
    h = net.training["history"]
    d = {"model": out, "dataset": ds.name, "test_accuracy_float": acc,
         "test_accuracy_float_readout": acc_ro, "epochs": trainer.epochs_done,
         "train_minutes": h["seconds"] / 60, "wall_minutes_this_run": minutes,
         "samples_per_s": ds.x_train.shape[0] * len(h["epoch_seconds"]) / max(h["seconds"], 1e-9),
         "checkpoint": checkpoint, "torch_threads": torch.get_num_threads(),
         "config": cfg.to_dict()}
    d["readout_seconds"] = readout_s
    if budget is not None:
        # budget_minutes: the user's --max-minutes; the training got it less the readout's
        d["budget"] = {**budget, "budget_minutes": float(max_minutes),
                       "training_minutes": budget["budget_minutes"],
                       "readout_seconds_reserved": reserve_s, "readout_seconds": readout_s}
    ro = "" if acc_ro is None else f", {acc_ro:.4f} (linear readout)"
    _emit(d, as_json, f"saved {out}; float test accuracy {acc:.4f} (label sweep){ro}; "
                      f"{d['train_minutes']:.1f} min training")


def _train_ffgaf(ds, preset, allocation, epochs, time_steps, lr, batch_size, seed, max_minutes,
                 checkpoint, resume, out, as_json, threads=2, extra=None, device="cpu"):
    from .model import save_model
    from .training.ffgaf import FFGAFTrainer
    from .training.ffgaf_config import FFGAFConfig
    try:
        cfg = FFGAFConfig.from_preset(preset, allocation=allocation, epochs=epochs,
                                      time_steps=time_steps, lr=lr, batch_size=batch_size,
                                      seed=seed, **(extra or {}))
        tr = FFGAFTrainer(cfg, ds, threads=threads, device=device)
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    checkpoint = checkpoint or str(out) + ".ckpt.h5"
    try:
        net = tr.fit(progress=True, checkpoint=checkpoint, resume=resume,
                     max_seconds=None if max_minutes is None else 60.0 * max_minutes)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    acc = tr.accuracy(ds.x_test, ds.y_test)
    save_model(net, out)
    h = tr.history
    d = {"model": out, "algo": "ffgaf", "dataset": ds.name, "test_accuracy_float": acc,
         "epochs": h.epochs_completed, "train_minutes": h.seconds / 60,
         "stopped_by_budget": h.stopped_by_budget,
         "channels_per_class": [c.tolist() for c in tr.counts], "checkpoint": checkpoint,
         "config": cfg.to_dict()}
    _emit(d, as_json, f"saved {out}; float test accuracy {acc:.4f} (FFGAF-SNN, one pass, "
                      f"class-group goodness, {allocation} allocation); "
                      f"{d['epochs']:.2f} epochs, {d['train_minutes']:.1f} min training")


def _train_hebbian(ds, trace, probability, epochs, hidden, time_steps, lr, batch_size, seed,
                   eval_samples, out, as_json, **options):
    from .model import save_model
    from .training.hebbian import HebbianConfig, HebbianTrainer
    try:
        cfg = HebbianConfig(hidden=hidden, time_steps=time_steps, trace=trace,
                            probability=probability, epochs=epochs, batch_size=batch_size,
                            lr=lr, seed=seed, eval_samples=eval_samples,
                            update_from_step=min(16, max(0, time_steps - 7)), **options)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    from .run import get_backend, label_sweep
    tr = HebbianTrainer(cfg, ds)
    net = tr.fit(progress=True)
    acc = tr.accuracy(ds.x_test, ds.y_test)
    # the saved network's own label sweep (spike counts, the readout every backend runs)
    acc_dep = label_sweep(get_backend("float"), net, ds.x_test).accuracy(ds.y_test)
    save_model(net, out)
    h = tr.history
    d = {"model": out, "algo": "hebbian", "dataset": ds.name, "test_accuracy": acc,
         "test_accuracy_deployed": acc_dep, "readout": net.training["readout"],
         "epochs": tr.epochs_done, "train_minutes": h.seconds / 60,
         "samples_per_s": h.samples_per_second[-1] if h.samples_per_second else None,
         "config": cfg.to_dict()}
    _emit(d, as_json, f"saved {out}; test accuracy {acc:.4f} (Hebbian FF, {probability} "
                      f"probability, {trace} trace; the saved network's label sweep: "
                      f"{acc_dep:.4f}); {d['train_minutes']:.1f} min training")


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
    from .analysis import MIN_SAMPLES, analyze_latents, tsne_figure
    from .fileio import save_figure
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
    from .model import save_model
    from .model.merge import merge_networks
    out = _out(out, "model file")
    if len({str(Path(m).resolve()) for m in models}) < len(models):
        raise click.UsageError("the same model file is given twice: merge different members")
    from .model.merge import dropped
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


def _model_dataset(net, dataset, data_dir):
    """The dataset a command runs on: ``--dataset``, or the one the model was trained on (from
    the record the model keeps); refused unless its samples and classes fit the model."""
    from .data import dataset_from_record
    try:
        ds = (_load_dataset(dataset, data_dir) if dataset else
              dataset_from_record(net.dataset or {"name": "digits"}, data_dir))
        net.check_dataset(ds)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    return ds


def _take(ds, samples, what="test"):
    """The first ``samples`` test samples (None: all); refused beyond the split's size."""
    from . import checks
    x, y = ds.x_test, ds.y_test
    if samples is None:
        return x, y
    try:
        n = checks.samples("--samples", samples, len(y), f"the {what} split of {ds.name}")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    return x[:n], y[:n]


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
    from .export.nir_export import from_nir
    from .model import save_model
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
    from .model import save_model
    from .pipeline import quantize_for_dataset
    from .quantization import QuantizationError
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


def _describe_layers(net) -> str:
    kinds = [l.kind for l in net.layers]
    parts = []
    for kind in dict.fromkeys(kinds):
        n = kinds.count(kind)
        parts.append(f"{n} {'conv' if kind == 'conv2d' else kind} layer{'s' * (n > 1)}")
    return " + ".join(parts)


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
    from .energy import ProfileError, fit_check, load_profile
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
        from .export.netx import write_netx
        if net.quantized is None:
            raise click.ClickException(f"{model} is not quantized: run `ff-neuro quantize` first")
        write_netx(net, out)
        msg = f"wrote {out} (NetX, {_describe_layers(net)}, shapes {shapes}{notes})"
        q = True
    else:
        from .export.nir_export import write_nir
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


class BackendName(click.ParamType):
    """A backend of the registry by name (older spellings accepted, shown by canonical name)."""

    name = "backend"

    def __init__(self, names=None):
        from .run import BACKENDS
        self.names = tuple(names or BACKENDS)

    def get_metavar(self, param, ctx=None):
        return "[" + "|".join(self.names) + "]"

    def convert(self, value, param, ctx):
        from .run import canonical
        try:
            name = canonical(value)
        except ValueError:
            name = None
        if name not in self.names:
            self.fail(f"{value!r} is not one of {', '.join(self.names)}", param, ctx)
        return name


def _get_backend(name: str, timeout: float):
    """The backend ``name`` (aliases accepted), or a one-line error saying why it cannot run."""
    from .run import available, canonical, get_backend
    name = canonical(name)
    ok, why = available(name)
    if not ok:
        raise click.ClickException(f"backend {name} cannot run here: {why}")
    return get_backend(name, timeout_s=timeout)


def _needs_quantized(net, model, backend_name):
    from .run import FIXED_POINT, canonical
    if canonical(backend_name) in FIXED_POINT and net.quantized is None:
        raise click.ClickException(f"backend {canonical(backend_name)} runs the quantized model "
                                   f"(`ff-neuro quantize {model} --out q.h5`)")


READOUT_HELP = ("sweep: one run per candidate label, argmax of goodness (Forward-Forward); "
                "class-groups: one run, the class whose channels fire most (FFGAF); linear: one "
                "run (neutral label) and the model's linear readout; spike-count: the output "
                "neuron that spikes most; membrane: the non-spiking output layer's final "
                "membrane (networks trained with backprop) [default: the model's]")
READOUT_KINDS = list(_READOUTS)


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--backend", type=BackendName(), default="emulator",
              show_default=True,
              help="float | emulator | lava-float | lava-fixed | loihi2 (older spellings "
                   "torch, lava_fixed_pt, lava_floating_pt, loihi2-hw are accepted)")
@click.option("--dataset", default=None, help=DATASET_HELP + " [default: the model's]")
@click.option("--data-dir", type=click.Path(), default=None)
@click.option("--samples", type=COUNT, default=None, help="first N test samples [default: all]")
@click.option("--readout", type=click.Choice(READOUT_KINDS), default=None,
              help=READOUT_HELP)
@click.option("--timeout", type=SECONDS, default=600.0, show_default=True,
              help="time limit of a Lava run in seconds")
@click.option("--json", "as_json", is_flag=True)
def evaluate(model, backend, dataset, data_dir, samples, readout, timeout, as_json):
    """Test accuracy of MODEL on one backend, through its readout."""
    import time
    from .run import infer
    net = _load_model(model)
    try:
        r = net.get_readout(readout)
    except ValueError as exc:
        raise click.ClickException(f"{model}: {exc}") from exc
    _needs_quantized(net, model, backend)
    be = _get_backend(backend, timeout)
    ds = _model_dataset(net, dataset, data_dir)
    x, y = _take(ds, samples)
    t = time.perf_counter()
    try:
        res = infer(be, net, x, r)
    except _library_errors() as exc:
        raise click.ClickException(str(exc)) from exc
    secs = time.perf_counter() - t
    d = {"backend": be.name, "dataset": ds.name, "samples": int(x.shape[0]), "readout": r.kind,
         "runs_per_sample": res.runs_per_sample, "accuracy": res.accuracy(y), "seconds": secs,
         "samples_per_s": x.shape[0] / secs if secs else None}
    if be.name.startswith("lava") and be.stats is not None:
        d["lava"] = be.stats.to_dict()
    _emit(d, as_json, f"{be.name} ({r.kind}): accuracy {d['accuracy']:.4f} on {d['samples']} "
                      f"samples ({secs:.1f} s)")


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--dataset", default=None, help=DATASET_HELP + " [default: the model's]")
@click.option("--data-dir", type=click.Path(), default=None)
@click.option("--samples", type=COUNT, default=50, show_default=True,
              help="first N test samples (a label sweep runs each with every candidate label)")
@click.option("--backends", default="float,emulator,lava-fixed,lava-float", show_default=True,
              help="comma-separated subset to run (older spellings accepted)")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="PNG of mismatches over layers and time steps [default: next to MODEL]")
@click.option("--timeout", type=SECONDS, default=600.0, show_default=True,
              help="time limit of each Lava run in seconds")
@click.option("--json", "as_json", is_flag=True)
def parity(model, dataset, data_dir, samples, backends, plot_path, timeout, as_json):
    """Run the same inputs through the float backend, the emulator, Lava fixed_pt and Lava
    floating_pt and report spike mismatches per layer and time step, first divergence,
    prediction agreement and accuracy of each, for any network (dense, conv or both).

    \b
    Pairs: float_vs_emulator (quantization error), emulator_vs_lava-fixed (must be exact),
    float_vs_lava-float (must be exact), float_vs_lava-fixed, lava-float_vs_lava-fixed.
    """
    from .parity import run_parity
    net = _load_model(model)
    plot_path = _out(plot_path or str(Path(model).with_suffix("")) + ".parity.png", "plot")
    ds = _model_dataset(net, dataset, data_dir)
    names = [b.strip() for b in backends.split(",") if b.strip()]
    x, y = _take(ds, samples)
    try:
        rep = run_parity(net, x, y, names, timeout_s=timeout, log=_log(True))
    except _library_errors() as exc:
        raise click.ClickException(str(exc)) from exc
    rep.plot(plot_path)
    d = rep.to_dict()
    d["plot"] = plot_path
    _emit(d, as_json, rep.format() + f"\n\nplot: {plot_path}")


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
    from .energy import ProfileError, ffgaf_rows, format_ffgaf_table, load_profile, \
        measure_activity
    from .run import infer
    if table == "ffgaf":
        from .energy import ffgaf_table
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
    from .energy.render import compare_table, plot_reports, write_csv
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


@main.command()
@click.option("--on", "target", type=click.Choice(["lava"]), default="lava", show_default=True,
              help="where the online learning runs (the Lava CPU simulator)")
@click.option("--mode", type=click.Choice(["floating_pt", "fixed_pt"]), default="floating_pt",
              show_default=True)
@click.option("--dataset", default="digits", show_default=True, help=DATASET_HELP)
@click.option("--data-dir", type=click.Path(), default=None)
@click.option("--samples", type=COUNT, default=1000, show_default=True,
              help="training samples learned online in one Lava run")
@click.option("--every", type=COUNT, default=None,
              help="learning-curve point every N samples [default: 100, or --samples if fewer]")
@click.option("--eval-samples", type=COUNT, default=200, show_default=True,
              help="held-out test samples scored at every curve point")
@click.option("--hidden", type=COUNT, default=None,
              help="neurons (one layer) [default: the --from model's, else 200]")
@click.option("--eta", type=POSITIVE, default=0.5, show_default=True, help="learning rate")
@click.option("--from", "from_model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="start from this model's first layer (fine-tuning on chip) [default: "
              "random]; a --algo hebbian model also brings its input coding, label code and "
              "rule settings (gain, trace, threshold, ...)")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--out", "out_prefix", default="runs/learn", show_default=True,
              help="writes OUT.json and OUT.png (learning curve)")
@click.option("--timeout", type=SECONDS, default=3600.0, show_default=True,
              help="seconds the Lava run may take")
@click.option("--y-exp", type=click.IntRange(-7, 0), default=-6, show_default=True,
              help="fixed_pt: the third factor leaves the neurons in units of 2^Y_EXP integer "
                   "weight units (7 bits: at most 127 of them per step)")
@click.option("--weight-scale", type=POSITIVE, default=None,
              help="fixed_pt: integer weight units per float unit [default: the largest start "
                   "weight maps to ~128]")
@click.option("--json", "as_json", is_flag=True)
def learn(target, mode, dataset, data_dir, samples, every, eval_samples, hidden, eta, from_model,
          seed, out_prefix, timeout, y_exp, weight_scale, as_json):
    """Online Hebbian Forward-Forward learning trial on the simulated chip.

    The network is a Lava LearningDense feeding ff-neuro's HebbianLIF neurons, which compute the
    modulatory third factor from the layer's own output traces and the sample's polarity, so the
    learning loop runs inside Lava without the host. Prints and saves a learning curve.
    """
    from .training.onchip import learning_trial
    from .training.hebbian import HebbianConfig
    for suffix in (".json", ".png"):
        _out(out_prefix + suffix, "learning curve")
    ds = _load_dataset(dataset, data_dir)
    model = _load_model(from_model) if from_model else None
    import dataclasses
    kw = {"hidden": (hidden or 200,), "seed": seed}
    if model is not None:
        n = model.layers[0].weight.shape[0]
        if hidden is not None and hidden != n:
            raise click.UsageError(f"--hidden {hidden}: the model's layer has {n} neurons")
        kw["hidden"] = (n,)
        if (model.training or {}).get("algorithm") == "hebbian":
            # the model's own input coding, label code (its seed) and rule parameters
            known = {f.name for f in dataclasses.fields(HebbianConfig)}
            kw.update({k: v for k, v in model.training.get("config", {}).items()
                       if k in known and k != "hidden"})
    try:
        cfg = HebbianConfig(**kw)
    except (TypeError, ValueError) as exc:
        raise click.ClickException(f"{from_model}: {exc}") from exc
    from .run.lava import LavaRunError
    try:
        res = learning_trial(ds, samples, eval_samples=eval_samples, every=every, model=model,
                             cfg=cfg, eta=eta, mode=mode, timeout_s=timeout, seed=seed,
                             log=_log(as_json), y_exp=y_exp, weight_scale=weight_scale)
    except (LavaRunError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    res["dataset"] = ds.name
    write_json(out_prefix + ".json", res)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from .fileio import save_figure
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot([c["samples"] for c in res["curve"]], [c["accuracy"] for c in res["curve"]], "o-",
            label=f"Lava {mode}")
    if "host_rule" in res:
        ax.axhline(res["host_rule"]["accuracy"], color="gray", ls="--", label="host rule, end")
    ax.set_xlabel("samples learned online")
    ax.set_ylabel(f"accuracy ({res['eval_samples']} test samples)")
    ax.set_title(f"on-chip Hebbian FF, {ds.name}")
    ax.legend()
    save_figure(fig, out_prefix + ".png")
    lines = [f"learned {res['samples_learned']} samples online on Lava {mode} in one run "
             f"({res['samples_per_s']:.1f} samples/s, {res['ms_per_step']:.1f} ms/step)",
             "samples  accuracy"] + [f"{c['samples']:>7}  {c['accuracy']:.4f}"
                                     for c in res["curve"]]
    if "host_rule" in res:
        lines.append(f"host rule on the same samples: {res['host_rule']['accuracy']:.4f}")
    if "fixed_point" in res:
        fx = res["fixed_point"]
        dv = fx["deviation"]
        tf = dv["third_factor"]
        lines += [f"float reference rule (same start and spikes): "
                  f"{fx['float_reference']['accuracy']:.4f}",
                  f"fixed_pt vs float rule: weight rel. error {dv['weight_rel_error']:.4f}, "
                  f"update rel. error {dv['update_rel_error'] or float('nan'):.3f} "
                  f"(cosine {dv['update_cosine'] or float('nan'):.3f}); saturated weights "
                  f"{dv['weights_saturated']}/{dv['weights']}",
                  f"third factor: {tf['rounded_to_zero_fraction']:.2%} rounded to zero, "
                  f"{tf['y_saturated_fraction']:.2%} saturated, rel. error "
                  f"{tf['rel_error'] or float('nan'):.4f} (S = {fx['weight_scale']:.3f}, "
                  f"y in 2^{fx['y_exp']})"]
    lines.append(f"curve: {out_prefix}.json, {out_prefix}.png")
    _emit(res, as_json, "\n".join(lines))


if __name__ == "__main__":  # pragma: no cover
    main()
