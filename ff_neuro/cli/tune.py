"""``ff-neuro tune``: a hyper-parameter sweep on Optuna (:mod:`ff_neuro.tuning`)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from ..training.trainer import ALGORITHMS
from ..tuning import INSTALL_HINT, PRUNERS, SAMPLERS
from ._common import COUNT, SEED, Checked, DATASET_HELP, _emit, _load_dataset, _out, main

SPACE_HELP = ("YAML file of the search space: 'FIELD: {low: L, high: H}' (add 'log: true' for "
              "a log scale, or 'step: S'), or 'FIELD: {choices: [a, b]}' (or just the list; "
              "[[200], [200, 200]] for a tuple field)")


def _say(prefix: str = ""):
    def log(line: str) -> None:
        click.echo(prefix + line, err=True)
    return log


def _worker_args(d: dict) -> list:
    """The command line of an extra worker on the same study."""
    args = [sys.executable, "-m", "ff_neuro.cli", "tune", "--trials", str(d["trials"]),
            "--storage", d["storage"], "--dataset", d["dataset"], "--seed", str(d["seed"]),
            "--sampler", d["sampler"], "--pruner", d["pruner"], "--device", d["device"],
            "--algo", d["algo"], "--worker", str(d["index"])]
    for opt, key in (("--recipe", "recipe"), ("--data-dir", "data_dir"),
                     ("--study-name", "study_name"), ("--val-samples", "val_samples"),
                     ("--space", "space_file"), ("--max-minutes", "max_minutes"),
                     ("--threads", "threads")):
        if d[key] is not None:
            args += [opt, str(d[key])]
    for a in d["assignments"]:
        args += ["--set", a]
    for p in d["params"]:
        args += ["--param", p]
    return args


def _start_workers(n: int, d: dict) -> list:
    """N-1 extra workers; each loads its data, then waits for a line on stdin: ``go`` (the
    setup is checked) or anything else (stop)."""
    import ff_neuro
    env = dict(os.environ)
    root = str(Path(ff_neuro.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    return [subprocess.Popen(_worker_args({**d, "index": i}), stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, env=env, text=True)
            for i in range(1, n)]


def _tell(procs: list, word: str) -> None:
    for p in procs:
        try:
            p.stdin.write(word + "\n")
            p.stdin.close()
        except (OSError, ValueError):          # it ended, or was told already
            pass


def _wait_until_started(procs: list, storage: str, study_name: str, trials: int) -> None:
    """Until every extra worker has taken a trial (or ended, or the study is full): the sweep
    starts on all workers at once."""
    import optuna

    from ..tuning import _counted, _storage
    st, _, _ = _storage(storage)
    while True:
        study = optuna.load_study(study_name=study_name, storage=st)
        started = {str(t.user_attrs.get("worker", "")).rpartition(":")[2]
                   for t in study.get_trials(deepcopy=False)}
        waiting = [p for p in procs if p.poll() is None and str(p.pid) not in started]
        if not waiting or _counted(study) >= trials:
            return
        time.sleep(0.2)


def _stop(procs: list, interrupt: bool = True) -> None:
    """Tell the extra workers waiting to start not to; with ``interrupt``, stop the running
    ones too (their trial is marked stopped); then wait for them."""
    _tell(procs, "stop")
    for p in procs:
        if interrupt and p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@main.command(context_settings={"max_content_width": 100})
@click.option("--dataset", default="digits", show_default=True, help=DATASET_HELP)
@click.option("--data-dir", type=click.Path(), default=None,
              help="directory holding the IDX files (overrides the default location)")
@click.option("--algo", type=click.Choice(ALGORITHMS), default=None,
              help="the learning rule whose configuration fields the space searches "
                   "[default: the recipe's, else ff]")
@click.option("--recipe", default=None, metavar="NAME|FILE.yaml",
              help="a recipe (`ff-neuro train --list-recipes`) whose fields every trial "
                   "starts from")
@click.option("--set", "assignments", multiple=True, metavar="FIELD=VALUE",
              help="a field every trial sets (repeatable), e.g. --set hidden=200,200")
@click.option("--space", "space_file", type=click.Path(dir_okay=False), default=None,
              help=SPACE_HELP)
@click.option("--param", "params", multiple=True, metavar="SPEC",
              help="a searched field (repeatable; over --space's): FIELD=LOW:HIGH, "
                   "FIELD=LOW:HIGH:log, FIELD=LOW:HIGH:STEP or FIELD=a|b|c, e.g. "
                   "--param lr=1e-4:1e-2:log --param hidden='100|200,200'")
@click.option("--trials", type=Checked("integer", "count", low=0), default=20,
              show_default=True,
              help="trials the study holds when done, all workers together (an existing "
                   "study continues up to it; 0 reports what it holds)")
@click.option("--storage", default="study.db", show_default=True,
              help="where the study lives: an SQLite file (.db), a journal file (.log, for "
                   "NFS) or a database URL; every finished trial is written there")
@click.option("--study-name", default=None,
              help="the study in the storage [default: RECIPE-or-ALGO-DATASET]; workers with "
                   "the same storage and name share it")
@click.option("--val-samples", type=COUNT, default=None,
              help="the validation split: the last N training samples (trials train on the "
                   "rest; the test split is never used) [default: a tenth, at most 5000]")
@click.option("--max-minutes", type=Checked("positive", "minutes"), default=None,
              help="a training-time budget per trial")
@click.option("--workers", type=COUNT, default=1, show_default=True,
              help="worker processes on this machine (this one and N-1 more, on the same "
                   "storage); on other machines, run the same command with the same "
                   "--storage and --study-name")
@click.option("--threads", type=COUNT, default=None,
              help="torch CPU threads per worker [default: torch's choice; with --workers, "
                   "the cores shared out]")
@click.option("--device", default="cpu", show_default=True,
              help="torch device each trial trains on")
@click.option("--pruner", type=click.Choice(PRUNERS), default="median", show_default=True,
              help="median: after 5 trials, from the second epoch on, stop a trial whose "
                   "validation accuracy is below the median of earlier trials at that epoch")
@click.option("--sampler", type=click.Choice(SAMPLERS), default="tpe", show_default=True,
              help="how trials pick values: Optuna's TPE, or at random")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="the sampler's seed (each trial's: this plus its number)")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="JSON file of the results (every trial, the best configuration)")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="PNG: validation accuracy per trial with the best so far, and per epoch")
@click.option("--json", "as_json", is_flag=True, help="print the results as one JSON object")
@click.option("--worker", "worker_index", type=int, default=0, hidden=True)
def tune(dataset, data_dir, algo, recipe, assignments, space_file, params, trials, storage,
         study_name, val_samples, max_minutes, workers, threads, device, pruner, sampler, seed,
         out, plot, as_json, worker_index):
    """Search configuration fields for the best validation accuracy (Optuna).

    \b
    ff-neuro tune --param lr=1e-4:1e-2:log --param hidden='100|200,200' --trials 30
    ff-neuro tune --recipe fashion --dataset fashion-mnist --space space.yaml \\
        --max-minutes 10 --storage fashion.db --workers 2 --out results.json --plot s.png

    Each trial trains on the training split less its last --val-samples samples and is
    scored on those after every epoch; the pruner stops trials that fall behind. Every
    finished trial is written to --storage at once: rerun the same command to continue a
    stopped sweep, or run it on several machines to share one. The report ends with the
    `ff-neuro train` command of the best configuration.
    """
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise click.ClickException(f"ff-neuro tune needs Optuna: {INSTALL_HINT}") from None
    from ..fileio import write_json
    from ..recipes import get_recipe, parse_assignments
    from ..training.trainer import config_class
    from ..tuning import load_report, parse_param, parse_space, read_space
    from ..tuning import tune as run_tune
    try:
        r = get_recipe(recipe) if recipe is not None else None
        if r is not None and algo is not None and algo != r.algo:
            raise ValueError(f"--recipe {r.name} trains with --algo {r.algo}, not {algo}")
        algo = algo or (r.algo if r is not None else "ff")
        fixed = parse_assignments(config_class(algo), assignments)
        if space_file is None and not params:
            raise click.UsageError("give the search space: --space FILE.yaml and/or --param "
                                   "FIELD=LOW:HIGH")
        space = dict(read_space(space_file)) if space_file is not None else {}
        space.update(parse_param(p) for p in params)
        parse_space(space, algo, r, fixed)
    except ValueError as exc:
        raise click.ClickException(" ".join(str(exc).split())) from exc
    if "://" not in storage:
        storage = _out(storage, "storage file")
    out, plot = _out(out, "results file"), _out(plot, "plot file")
    ds = _load_dataset(dataset, data_dir)
    if workers > 1 and threads is None:
        threads = max(1, (os.cpu_count() or 1) // workers)
    kw = dict(space=space, algo=algo, recipe=r, fixed=fixed, storage=storage,
              study_name=study_name, val_samples=val_samples, max_minutes=max_minutes,
              sampler=sampler, pruner=pruner, seed=seed, threads=threads, device=device)
    if worker_index:
        if sys.stdin.readline().strip() == "go":
            run_tune(ds, trials=trials, log=_say(f"[worker {worker_index}] "), **kw)
        return
    procs = []
    try:
        if workers > 1:      # they start (imports, data) while this one checks the setup
            procs = _start_workers(workers, dict(
                trials=trials, storage=storage, study_name=study_name,
                val_samples=val_samples, dataset=dataset, data_dir=data_dir,
                seed=seed, sampler=sampler, pruner=pruner, device=device, algo=algo,
                recipe=recipe, space_file=space_file, max_minutes=max_minutes,
                threads=threads, assignments=assignments, params=params))
        try:      # the setup is checked (and the study made) before any worker trains
            rep = run_tune(ds, trials=0, **kw)
        except ValueError as exc:
            _stop(procs, interrupt=False)
            raise click.ClickException(" ".join(str(exc).split())) from exc
        _tell(procs, "go")
        if procs:
            _wait_until_started(procs, storage, rep.study_name, trials)
        run_tune(ds, trials=trials, progress=workers == 1, log=_say(), **kw)
        codes = [p.wait() for p in procs]
    except BaseException:
        _stop(procs)
        raise
    rep = load_report(storage, rep.study_name)
    d = rep.to_dict()
    if out is not None:
        write_json(out, d)
        d["out"] = out
    if plot is not None:
        d["plot"] = str(rep.plot(plot))
    text = str(rep) + "".join(f"\nwrote {d[k]}" for k in ("out", "plot") if k in d)
    _emit(d, as_json, text)
    failed = [i + 1 for i, c in enumerate(codes) if c != 0]
    if failed:
        raise click.ClickException(f"worker {', '.join(map(str, failed))} stopped with an "
                                   "error (its messages are above)")
    if rep.trials and all(t.state == "fail" for t in rep.trials):
        raise click.ClickException(f"every trial failed: {rep.trials[-1].error}")
