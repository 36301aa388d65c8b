"""``ff-neuro train``: train a network with one of the three learning rules.

The options that set configuration fields are generated from the configuration dataclasses
(:class:`~ff_neuro.config.FFTrainConfig`, :class:`~ff_neuro.training.hebbian.HebbianConfig`,
:class:`~ff_neuro.training.ffgaf_config.FFGAFConfig`): one option per field, whose help is the
field's documentation and whose default is the field's default, the same one
``ffn.train`` uses. What is set wins in this order: the field's default, ``--recipe``, an
option, ``--set FIELD=VALUE``.
"""
from __future__ import annotations

import dataclasses
import re
import time
import typing

import click

from ..recipes import field_types, get_recipe, parse_assignments, recipe_names
from ..training.trainer import ALGORITHMS, config_class
from ._common import COUNT, Checked, DATASET_HELP, _emit, _load_dataset, _out, main

#: options with another name than their field (the field's own spelling works too)
_ALIASES = {"label_embedding": ["--embedding"]}
#: the off-switch of a boolean field, where it has a better name than --no-FIELD
_OFF_NAMES = {"receptive_shared": "--locally-connected"}


def _field_docs(cls) -> typing.Dict[str, str]:
    """``{field: text}`` from the "Attributes" section of a configuration class's docstring
    (``name : text`` entries, continued on indented lines; ``a, b : text`` documents both)."""
    doc = cls.__doc__ or ""
    part = doc.split("----------", 1)[-1] if "----------" in doc else ""
    docs: typing.Dict[str, str] = {}
    names: typing.List[str] = []
    for line in part.splitlines():
        m = re.match(r"^    ([\w, ]+?) : (.*)$", line)
        if m:
            names = [n.strip() for n in m.group(1).split(",")]
            for n in names:
                docs[n] = m.group(2).strip()
        elif line.startswith("        ") and names:
            for n in names:
                docs[n] += " " + line.strip()
        elif line.strip():
            names = []
    return {k: " ".join(v.replace("``", "").split()) for k, v in docs.items()}


def _type_name(tp) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union:
        parts = [_type_name(a) for a in args if a is not type(None)]
        return "|".join(parts) + ("|none" if type(None) in args else "")
    if origin in (tuple, list):
        return f"{_type_name(args[0]) if args else 'text'},..."
    return {int: "int", float: "float", bool: "bool", str: "text"}.get(tp, "text")


def _fields():
    """``{field: {algo: (type, default, doc)}}`` over the three configuration classes, in the
    order of first appearance."""
    out: typing.Dict[str, dict] = {}
    for algo in ALGORITHMS:
        cls = config_class(algo)
        types, docs = field_types(cls), _field_docs(cls)
        for f in dataclasses.fields(cls):
            default = (f.default if f.default is not dataclasses.MISSING
                       else f.default_factory())
            out.setdefault(f.name, {})[algo] = (types[f.name], default, docs.get(f.name, ""))
    return out


FIELDS = _fields()


def _fmt_default(v) -> str:
    if isinstance(v, tuple):
        return ",".join(str(x) for x in v) or "()"
    return str(v)


def _field_option(name: str, per_algo: dict) -> click.Option:
    algos = list(per_algo)
    tp = per_algo[algos[0]][0]
    doc = next((d for _, _, d in per_algo.values() if d), "")
    defaults = {a: _fmt_default(d) for a, (_, d, _) in per_algo.items()}
    if len(set(defaults.values())) == 1:
        dflt = f"[{'/'.join(algos)}; default {next(iter(defaults.values()))}]"
    else:
        dflt = "[" + "; ".join(f"{a} default {d}" for a, d in defaults.items()) + "]"
    flag = "--" + name.replace("_", "-")
    if tp is bool:
        off = _OFF_NAMES.get(name, f"--no-{name.replace('_', '-')}")
        return click.Option([f"{flag}/{off}", name], default=None, help=f"{doc} {dflt}")
    return click.Option([flag, *_ALIASES.get(name, []), name], default=None,
                        metavar=_type_name(tp).upper(), help=f"{doc} {dflt}")


def _with_field_options(f):
    for name, per_algo in reversed(list(FIELDS.items())):
        f.__click_params__ = getattr(f, "__click_params__", [])
        f.__click_params__.append(_field_option(name, per_algo))
    return f


def _list_fields(algo: str) -> str:
    cls = config_class(algo)
    types, docs = field_types(cls), _field_docs(cls)
    rows = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        rows.append(f"{f.name} ({_type_name(types[f.name])}, default {_fmt_default(default)})"
                    f"\n    {docs.get(f.name, '')}")
    return f"{cls.__name__} (--algo {algo}): set with --FIELD or --set FIELD=VALUE\n" + \
        "\n".join(rows)


def _recipe_list() -> str:
    from ..recipes import list_recipes
    rows = []
    for r in list_recipes():
        budget = "" if r.max_minutes is None else f"; measured with --max-minutes {r.max_minutes:g}"
        rows.append(f"{r.name} (--algo {r.algo}): {r.summary}\n    backed by: "
                    f"{r.result or r.reference}{budget}")
    return "\n".join(rows)


class _RecipeOrPath(click.ParamType):
    name = "recipe"

    def get_metavar(self, param, ctx=None):
        return "NAME|FILE.yaml"

    def convert(self, value, param, ctx):
        if value is None or not isinstance(value, str):
            return value
        try:
            return get_recipe(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@main.command(context_settings={"max_content_width": 100})
@click.option("--dataset", default="digits", show_default=True, help=DATASET_HELP)
@click.option("--data-dir", type=click.Path(), default=None,
              help="directory holding the IDX files (overrides the default location)")
@click.option("--algo", type=click.Choice(ALGORITHMS), default=None,
              help="ff: spiking Forward-Forward (layer-local surrogate gradients, snnTorch "
                   "neurons); hebbian: the neo-Hebbian FF rule of Terres-Escudero et al. 2024 "
                   "(no autograd); ffgaf: FFGAF-SNN conv networks (Xu et al.) [default: the "
                   "recipe's, else ff]")
@click.option("--recipe", type=_RecipeOrPath(), default=None,
              help="a named recipe (" + ", ".join(recipe_names()) + ") or a recipe YAML "
                   "file: sets its fields (options and --set still win); --list-recipes "
                   "says what each is and the result file behind it")
@click.option("--set", "assignments", multiple=True, metavar="FIELD=VALUE",
              help="set any configuration field (repeatable), e.g. --set hidden=500,500 "
                   "--set beta=0.9,0.99; --list-fields shows them")
@click.option("--preset", type=click.Choice(["micro", "tiny", "small", "paper"]), default=None,
              help="ffgaf: the size of the recipe ffgaf-PRESET (channels micro 20,20,20,40 "
                   "T=4; tiny 20,30,30,60 T=6; small 20,60,60,120; paper 40,120,120,240 T=10)")
@click.option("--skip-first-layer", is_flag=True,
              help="ff: the label sweep sums goodness from layer 2 on (goodness_from_layer=1)")
@click.option("--list-fields", is_flag=True,
              help="print the configuration fields of --algo with types, defaults and "
                   "meaning, and exit")
@click.option("--list-recipes", is_flag=True, help="print the recipes and exit")
@click.option("--max-minutes", type=Checked("positive", "minutes"), default=None,
              help="a time budget. ff: for training and the readout fit (the readout's share "
                   "is estimated from a timed probe and kept aside, the schedule, at most "
                   "--epochs, is sized to the rest and re-sized every 10 epochs); hebbian, "
                   "ffgaf: training stops once it is spent. With --resume the earlier run's "
                   "time counts (a recipe's result says the budget it was measured with: see "
                   "--list-recipes)")
@click.option("--no-readout", is_flag=True,
              help="ff: do not fit the one-pass linear readout after training (on large "
                   "datasets it takes minutes; the label sweep needs none)")
@click.option("--threads", type=COUNT, default=None,
              help="torch (and LIF kernel) CPU threads; 1 is much faster on a busy shared "
                   "CPU, and lets two runs share two cores [default: torch's choice; ffgaf 2]")
@click.option("--device", default="cpu", show_default=True,
              help="torch device to train on (cpu, cuda, cuda:1)")
@click.option("--processes", type=COUNT, default=1, show_default=True,
              help="ff: train data-parallel in this many processes started by torchrun (gloo "
                   "on CPUs, nccl on GPUs): the weights of one process training the same "
                   "batches; rank 0 writes the checkpoint and the model [one torch thread "
                   "per process unless --threads]")
@click.option("--members", type=COUNT, default=1, show_default=True,
              help="ff: train this many networks at once, one process each (seeds seed, "
                   "seed + 1, ...), and save them merged into one network (as ff-neuro "
                   "merge); --max-minutes is each member's training time, member i "
                   "checkpoints to CHECKPOINT's name with .memberI")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="checkpoint file written every epoch [default: OUT.ckpt.h5]")
@click.option("--resume", is_flag=True, help="continue from the checkpoint")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="model file to write (HDF5) [required to train]")
@click.option("--json", "as_json", is_flag=True, help="print one JSON summary")
@_with_field_options
def train(dataset, data_dir, algo, recipe, assignments, preset, skip_first_layer, list_fields,
          list_recipes, max_minutes, no_readout, threads, device, processes, members, checkpoint,
          resume, out, as_json, **fields):
    """Train a spiking network and save it (float) to --out.

    \b
    ff-neuro train --out m.h5                                 # spiking FF on digits
    ff-neuro train --recipe fashion --dataset fashion-mnist --out m.h5
    ff-neuro train --recipe fashion --set epochs=5 --hidden 200,200 --out m.h5
    ff-neuro train --algo hebbian --epochs 3 --out h.h5
    ff-neuro train --algo ffgaf --preset micro --epochs 2 --out c.h5

    Shows a progress bar, writes a checkpoint every epoch (rerun with --resume to continue
    after an interruption), and reports test accuracy: ff by label sweep and, after fitting
    the one-pass linear readout (unless --no-readout), by readout; hebbian by label sweep of
    its traces and of the saved network's spike counts; ffgaf by class-group goodness.

    Every configuration field is an option below (and --set FIELD=VALUE); each says which
    rules use it and its default.
    """
    if preset is not None:
        if recipe is not None:
            raise click.UsageError("--preset and --recipe: give one (a preset is the recipe "
                                   "ffgaf-PRESET)")
        recipe = get_recipe(f"ffgaf-{preset}")
        if algo not in (None, "ffgaf"):
            raise click.UsageError("--preset: an option of --algo ffgaf")
    if recipe is not None and algo is not None and algo != recipe.algo:
        raise click.UsageError(f"--recipe {recipe.name} trains with --algo {recipe.algo}, "
                               f"not {algo}")
    algo = algo or (recipe.algo if recipe is not None else "ff")
    if list_recipes:
        click.echo(_recipe_list())
        return
    if list_fields:
        click.echo(_list_fields(algo))
        return
    cls = config_class(algo)
    known = set(field_types(cls))
    given = {k: v for k, v in fields.items() if v is not None}
    if skip_first_layer:
        given["goodness_from_layer"] = 1
    wrong = sorted(k for k in given if k not in known)
    if wrong:
        raise click.UsageError("; ".join(
            f"--{k.replace('_', '-')}: an option of --algo {', '.join(FIELDS[k])}"
            if k in FIELDS else f"{k}: not a field of --algo {algo}" for k in wrong))
    if out is None:
        raise click.UsageError("Missing option '--out' (the model file to write).")
    if no_readout and algo != "ff":
        raise click.UsageError("--no-readout: an option of --algo ff")
    _check_parallel(algo, processes, members)
    try:
        overrides = parse_assignments(cls, [f"{k}={v}" for k, v in given.items()
                                            if isinstance(v, str)])
        overrides.update({k: v for k, v in given.items() if not isinstance(v, str)})
        overrides.update(parse_assignments(cls, assignments))
        cfg = (recipe.make_config(**overrides) if recipe is not None
               else cls(**overrides))
    except (TypeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    out = _out(out, "model file")
    checkpoint = _out(checkpoint or str(out) + ".ckpt.h5", "checkpoint file")
    if processes > 1:
        from ._parallel import train_processes
        d = train_processes(processes, algo, dataset, data_dir, cfg, device, threads,
                            max_minutes, checkpoint, resume, out, not no_readout)
    elif members > 1:
        from ._parallel import train_members
        d = train_members(members, _load_dataset(dataset, data_dir), cfg, device, threads,
                          max_minutes, checkpoint, resume, out, not no_readout)
    else:
        ds = _load_dataset(dataset, data_dir)
        d = _train(algo, ds, cfg, device=device, threads=threads, max_minutes=max_minutes,
                   checkpoint=checkpoint, resume=resume, out=out, readout=not no_readout)
        if d is None:    # a data-parallel process that torchrun started, not rank 0
            return
    if recipe is not None:
        d["recipe"] = {"name": recipe.name, "result": recipe.result}
    _emit(d, as_json, d.pop("_text"))


def _check_parallel(algo: str, processes: int, members: int) -> None:
    """Refuse --processes / --members where they do not apply, before any work."""
    from ..training import distributed
    for name, n in (("--processes", processes), ("--members", members)):
        if n > 1 and algo != "ff":
            raise click.UsageError(f"{name}: an option of --algo ff")
        if n > 1 and distributed.launched():
            raise click.UsageError(f"{name}: this process was started by torchrun already "
                                   "(it trains data-parallel with the others)")
    if processes > 1 and members > 1:
        raise click.UsageError("--processes and --members: give one (each member trains in "
                               "its own process)")


def _train(algo, ds, cfg, device, threads, max_minutes, checkpoint, resume, out, readout):
    """Train, evaluate and save; the summary dict (its text under ``_text``), or None in a
    data-parallel process other than rank 0 (it trains; rank 0 evaluates and saves)."""
    import torch

    from ..model import save_model
    from ..run import get_backend, label_sweep
    from ..training.trainer import fit_with_budget, make_trainer
    try:
        tr = make_trainer(algo, ds, cfg, device=device, threads=threads)
    except (ValueError, RuntimeError) as exc:   # settings that do not fit the data or device
        raise click.ClickException(str(exc)) from exc
    reserve_s = 0.0
    if algo == "ff" and max_minutes is not None and readout:
        from ..pipeline import readout_seconds
        reserve_s = readout_seconds(tr.network(), ds)
        if reserve_s > 0.5 * max_minutes * 60:
            raise click.ClickException(
                f"the readout fit alone is estimated at {reserve_s / 60:.1f} of the "
                f"{max_minutes:g} minutes: raise --max-minutes, or pass --no-readout")
    t = time.perf_counter()
    try:
        net, budget = fit_with_budget(
            tr, None if max_minutes is None else max_minutes - reserve_s / 60,
            progress=True, checkpoint=checkpoint, resume=resume)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if getattr(tr, "data_parallel", False):
        from ..training import distributed
        distributed.finish()               # rank 0 evaluates and saves on its own
        if distributed.rank() != 0:
            return None
    wall = (time.perf_counter() - t) / 60
    h = tr.history.to_dict()
    d = {"model": out, "algo": algo, "dataset": ds.name, "epochs": tr.epochs_done,
         "train_minutes": h["seconds"] / 60, "wall_minutes_this_run": wall,
         "checkpoint": checkpoint, "torch_threads": torch.get_num_threads(),
         "config": cfg.to_dict()}
    flt = get_backend("float")
    if algo == "ff":
        from ..pipeline import attach_readout
        from ..run import one_pass
        d["samples_per_s"] = (ds.x_train.shape[0] * len(h["epoch_seconds"])
                              / max(h["seconds"], 1e-9))
        acc = d["test_accuracy_float"] = label_sweep(flt, net, ds.x_test).accuracy(ds.y_test)
        acc_ro = readout_s = None
        if readout:
            t_ro = time.perf_counter()
            attach_readout(net, ds, progress=True)
            readout_s = time.perf_counter() - t_ro
            acc_ro = one_pass(flt, net, ds.x_test,
                              readout=net.get_readout("linear")).accuracy(ds.y_test)
        d["test_accuracy_float_readout"], d["readout_seconds"] = acc_ro, readout_s
        ro = "" if acc_ro is None else f", {acc_ro:.4f} (linear readout)"
        text = f"float test accuracy {acc:.4f} (label sweep){ro}"
    elif algo == "hebbian":
        acc = d["test_accuracy"] = tr.accuracy(ds.x_test, ds.y_test)
        # the saved network's own label sweep (spike counts, what every backend runs)
        dep = d["test_accuracy_deployed"] = label_sweep(flt, net, ds.x_test).accuracy(ds.y_test)
        d["readout"] = net.training["readout"]
        d["samples_per_s"] = (h["samples_per_second"][-1] if h["samples_per_second"]
                              else None)
        text = (f"test accuracy {acc:.4f} (Hebbian FF, {cfg.probability} probability, "
                f"{cfg.trace} trace; the saved network's label sweep: {dep:.4f})")
    else:
        acc = d["test_accuracy_float"] = tr.accuracy(ds.x_test, ds.y_test)
        d["stopped_by_budget"] = tr.history.stopped_by_budget
        d["epochs"] = tr.history.epochs_completed
        d["channels_per_class"] = [c.tolist() for c in tr.counts]
        text = (f"float test accuracy {acc:.4f} (FFGAF-SNN, one pass, class-group goodness, "
                f"{cfg.allocation} allocation)")
    if budget is not None:
        if algo == "ff":     # budget_minutes: the user's; the training got it less the readout
            budget = {**budget, "budget_minutes": float(max_minutes),
                      "training_minutes": budget["budget_minutes"],
                      "readout_seconds_reserved": reserve_s,
                      "readout_seconds": d.get("readout_seconds")}
        d["budget"] = budget
    save_model(net, out)
    d["_text"] = (f"saved {out}; {text}; {d['epochs']:.4g} epochs, "
                  f"{d['train_minutes']:.1f} min training")
    return d
