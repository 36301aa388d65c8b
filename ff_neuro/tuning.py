"""Hyper-parameter sweeps on Optuna (the ``tune`` extra: ``pip install 'ff-neuro[tune]'``).

A search space is data: ``{field: spec}`` over the configuration fields of a learning rule
(:class:`~ff_neuro.config.FFTrainConfig`, :class:`~ff_neuro.training.hebbian.HebbianConfig`,
:class:`~ff_neuro.training.ffgaf_config.FFGAFConfig`), where a spec is

* ``{"low": 1e-4, "high": 1e-2, "log": True}``: a number between low and high (an integer for
  an integer field), on a log scale with ``log``;
* ``{"low": 2, "high": 10, "step": 2}``: every ``step`` from low to high;
* ``{"choices": ["swish", "softmax"]}`` (or just the list): one of the values; a list value is
  a tuple field's value (``hidden: {choices: [[200], [200, 200]]}``).

The same mapping reads from a YAML file. :func:`tune` checks every field and bound against the
configuration class before any trial starts (a ValueError naming the field), then trains
trials with the :class:`~ff_neuro.training.Trainer` protocol on the training set less its last
``val_samples`` samples, and scores them on those samples (the validation split; the test set
is never used). After every epoch a trial reports its validation accuracy to Optuna, whose
pruner (median by default) stops trials that fall behind the others.

A study lives in a storage: an SQLite file (``study.db``), a journal file (``study.log``, for
file systems without reliable locks such as NFS) or a database URL. Every finished trial is
written there at once, and every process that calls :func:`tune` with the same storage and
``study_name`` works on the same study (on one machine or several), until the study holds
``trials`` trials::

    >>> import ff_neuro as ffn
    >>> from ff_neuro.tuning import tune
    >>> rep = tune(ffn.load_dataset("digits"), space={"lr": {"low": 1e-3, "high": 1e-2,
    ...            "log": True}}, trials=2, storage="study.db", val_samples=200,
    ...            fixed=dict(hidden=(16,), time_steps=4, epochs=2))
    >>> [t.state for t in rep.trials]
    ['complete', 'complete']
    >>> rep.validation["samples"], rep.validation["train_samples"]
    (200, 1147)
    >>> rep.best_config["hidden"], rep.best.number in (0, 1)
    ([16], True)
    >>> rep.plot("study.png").name
    'study.png'

``ff-neuro tune`` is the same from the command line.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import socket
import sys
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

INSTALL_HINT = "pip install 'ff-neuro[tune]'"
#: sampler names :func:`tune` takes
SAMPLERS = ("tpe", "random")
#: pruner names :func:`tune` takes
PRUNERS = ("median", "none")
_SPEC_KEYS = {"low", "high", "log", "step"}
_STORAGE_FILES = {".db": "sqlite", ".sqlite": "sqlite", ".sqlite3": "sqlite",
                  ".log": "journal", ".journal": "journal", ".jsonl": "journal"}
_ATTR = "ff_neuro"                 # the study's user attribute that records what it sweeps


def _optuna():
    """The optuna module, or an ImportError that says how to install it."""
    try:
        import optuna
    except ImportError:
        raise ImportError(f"hyper-parameter sweeps need Optuna: {INSTALL_HINT}") from None
    return optuna


def _jsonable(v):
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v


def _text(v) -> str:
    """A value as ``--set FIELD=VALUE`` writes it."""
    if isinstance(v, (tuple, list)):
        return ",".join(_text(x) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    return str(v)


# -- the search space ------------------------------------------------------------------------
def _kind(tp) -> str:
    """``int``, ``float``, ``bool``, ``str`` or ``tuple``: what a field's type allows in a
    space (a range needs int or float)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union:
        options = [a for a in args if a is not type(None)]
        plain = [a for a in options if typing.get_origin(a) is None]
        return _kind(plain[0] if plain else options[0])
    if origin in (tuple, list):
        return "tuple"
    return {int: "int", float: "float", bool: "bool"}.get(tp, "str")


@dataclass(frozen=True)
class Param:
    """One searched field: a range (``low``, ``high``, ``log``, ``step``; ``kind`` "int" or
    "float") or ``choices``. :func:`parse_space` makes them."""

    name: str
    kind: str
    low: Optional[float] = None
    high: Optional[float] = None
    log: bool = False
    step: Optional[float] = None
    choices: Optional[Tuple[Any, ...]] = None

    def _encoded(self) -> List[Any]:
        """The choices as Optuna stores them (a tuple as its ``--set`` text, ``"200,200"``)."""
        return [_text(c) if isinstance(c, tuple) else c for c in self.choices]

    def suggest(self, trial):
        """The value ``trial`` draws for this field (a configuration value)."""
        if self.choices is not None:
            encoded = self._encoded()
            drawn = trial.suggest_categorical(self.name, encoded)
            return self.choices[encoded.index(drawn)]
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high),
                                     step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high),
                                   step=self.step, log=self.log)

    def to_dict(self) -> dict:
        if self.choices is not None:
            return {"choices": _jsonable(list(self.choices))}
        d = {"low": self.low, "high": self.high}
        if self.log:
            d["log"] = True
        if self.step is not None:
            d["step"] = self.step
        return d

    def __str__(self) -> str:
        if self.choices is not None:
            return "|".join(_text(c) for c in self.choices)
        tail = ":log" if self.log else (f":{self.step:g}" if self.step is not None else "")
        return f"{self.low:g}:{self.high:g}{tail}"


def _base(algo: Optional[str], recipe, fixed: Optional[Mapping]) -> Tuple[str, Any, dict]:
    """``(algo, recipe or None, base fields)``: the recipe's fields, then ``fixed``; checked
    by the configuration class."""
    from .training.trainer import ALGORITHMS, config_class, make_config
    r = None
    if recipe is not None:
        from .recipes import Recipe, get_recipe
        r = recipe if isinstance(recipe, Recipe) else get_recipe(recipe)
        if algo is not None and algo != r.algo:
            raise ValueError(f"recipe {r.name} trains with algo {r.algo!r}, not {algo!r}")
        algo = r.algo
    algo = algo or "ff"
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algo {algo!r} ({'|'.join(ALGORITHMS)})")
    base = {**(r.config if r is not None else {}), **dict(fixed or {})}
    try:
        make_config(algo, **base)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    return algo, r, base


def _number(name: str, key: str, value, kind: str):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"space: {name}: {key} must be a number, got {value!r}")
    try:
        v = float(value)
    except ValueError:
        raise ValueError(f"space: {name}: {key} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"space: {name}: {key} must be finite, got {value!r}")
    if kind == "int":
        if v != int(v):
            raise ValueError(f"space: {name} is an integer field: {key} must be a whole "
                             f"number, got {value!r}")
        return int(v)
    return v


def _choice(cls, name: str, value):
    """A choice as a configuration value: a list is a tuple; text is typed by the field."""
    if isinstance(value, list):
        return tuple(_choice(cls, name, v) for v in value)
    if isinstance(value, str):
        from .recipes import parse_assignments
        return parse_assignments(cls, [f"{name}={value}"])[name]
    return value


def _param(cls, name: str, spec, types) -> Param:
    kind = _kind(types[name])
    if isinstance(spec, (list, tuple)):
        spec = {"choices": list(spec)}
    if not isinstance(spec, Mapping):
        raise ValueError(f"space: {name}: expected {{low, high[, log][, step]}} or "
                         f"{{choices: [...]}}, got {spec!r}")
    keys = set(spec)
    if "choices" in keys:
        if keys != {"choices"}:
            raise ValueError(f"space: {name}: choices go alone, without "
                             f"{', '.join(sorted(keys - {'choices'}))}")
        values = spec["choices"]
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"space: {name}: choices must be a non-empty list, got {values!r}")
        choices = tuple(_choice(cls, name, v) for v in values)
        p = Param(name, kind, choices=choices)
        if len(set(map(repr, p._encoded()))) != len(choices):
            raise ValueError(f"space: {name}: a choice is given twice ({p})")
        return p
    unknown = sorted(keys - _SPEC_KEYS)
    if unknown or not {"low", "high"} <= keys:
        raise ValueError(f"space: {name}: expected {{low, high[, log][, step]}} or "
                         f"{{choices: [...]}}, got keys {', '.join(sorted(keys)) or 'none'}")
    if kind not in ("int", "float"):
        raise ValueError(f"space: {name} is a {kind} field: give choices, not a range")
    low, high = (_number(name, k, spec[k], kind) for k in ("low", "high"))
    if not low < high:
        raise ValueError(f"space: {name}: low must be below high, got {low!r} and {high!r} "
                         "(a single value is a fixed field)")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ValueError(f"space: {name}: log must be true or false, got {log!r}")
    if log and low <= 0:
        raise ValueError(f"space: {name}: a log range needs low > 0, got {low!r}")
    step = spec.get("step")
    if step is not None:
        step = _number(name, "step", step, kind)
        if log:
            raise ValueError(f"space: {name}: give log or step, not both")
        if not step > 0:
            raise ValueError(f"space: {name}: step must be > 0, got {step!r}")
    return Param(name, kind, low=low, high=high, log=log, step=step)


def read_space(space) -> Mapping:
    """``space`` as a mapping: a mapping as it is, a path as the YAML (or JSON) file's
    mapping; anything else is a ValueError."""
    if isinstance(space, (str, Path)):
        path = Path(space)
        if not path.exists():
            raise ValueError(f"space file {path} does not exist")
        import yaml
        try:
            space = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise ValueError(f"space file {path}: not valid YAML "
                             f"({' '.join(str(exc).split())})") from None
    if not isinstance(space, Mapping) or not space:
        raise ValueError("the search space must be a non-empty mapping of field: spec, got "
                         f"{space!r}")
    return space


def parse_space(space, algo: Optional[str] = None, recipe=None,
                fixed: Optional[Mapping] = None) -> Dict[str, Param]:
    """The search space ``space`` (a mapping, or a YAML file of one) checked against
    ``algo``'s configuration class (or the recipe's) with the ``fixed`` fields set:
    ``{field: Param}``. An unknown field, a bad range, a field both searched and fixed, or a
    bound or choice the configuration refuses is a one-line ValueError naming it.

    Example::

        >>> p = parse_space({"lr": {"low": 1e-4, "high": 1e-2, "log": True},
        ...                  "hidden": [[16], [32, 32]]})
        >>> str(p["lr"]), p["hidden"].choices
        ('0.0001:0.01:log', ((16,), (32, 32)))
        >>> parse_space({"lr": {"low": 0.01, "high": 0.001}})
        Traceback (most recent call last):
        ...
        ValueError: space: lr: low must be below high, got 0.01 and 0.001 ...
    """
    from .recipes import field_types
    from .training.trainer import config_class, make_config
    algo, _, base = _base(algo, recipe, fixed)
    cls = config_class(algo)
    types = field_types(cls)
    params: Dict[str, Param] = {}
    for name, spec in read_space(space).items():
        name = str(name).replace("-", "_")
        if name not in types:
            raise ValueError(f"space: {cls.__name__} (algo {algo}) has no field {name!r} "
                             f"(fields: {', '.join(sorted(types))})")
        if name in (fixed or {}):
            raise ValueError(f"space: {name} is both searched and fixed: give it one way")
        params[name] = _param(cls, name, spec, types)
    # every bound and choice must be a value the configuration takes (with the fixed fields,
    # and, where a field only works together with another searched one, with one of its
    # choices: label_smoothing needs loss=softmax)
    others = [(q.name, c) for q in params.values() if q.choices is not None
              for c in q.choices]
    for p in params.values():
        values = (("choice", c) for c in p.choices) if p.choices is not None else \
            (("low", p.low), ("high", p.high))
        for what, v in values:
            error = None
            for extra in [{}] + [{n: c} for n, c in others if n != p.name]:
                try:
                    make_config(algo, **{**base, **extra, p.name: v})
                    error = None
                    break
                except (TypeError, ValueError) as exc:
                    error = error or " ".join(str(exc).split())
            if error is not None:
                raise ValueError(f"space: {p.name} {what} {_text(v)}: {error}")
    return params


def parse_param(text: str) -> Tuple[str, dict]:
    """A command-line spec ``FIELD=LOW:HIGH``, ``FIELD=LOW:HIGH:log``, ``FIELD=LOW:HIGH:STEP``
    or ``FIELD=a|b|c`` as ``(field, spec)`` for :func:`parse_space` (values stay text; the
    field's type reads them there).

    Example::

        >>> parse_param("lr=1e-4:1e-2:log")
        ('lr', {'low': '1e-4', 'high': '1e-2', 'log': True})
        >>> parse_param("hidden=16|32,32")
        ('hidden', {'choices': ['16', '32,32']})
    """
    name, sep, rest = str(text).partition("=")
    name = name.strip().replace("-", "_")
    if not sep or not name or not rest.strip():
        raise ValueError(f"--param expects FIELD=LOW:HIGH[:log|:STEP] or FIELD=a|b|c, got "
                         f"{text!r}")
    if "|" in rest:
        return name, {"choices": [c.strip() for c in rest.split("|")]}
    parts = [p.strip() for p in rest.split(":")]
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"--param {text!r}: expected FIELD=LOW:HIGH[:log|:STEP] or "
                         "FIELD=a|b|c")
    spec: Dict[str, Any] = {"low": parts[0], "high": parts[1]}
    if len(parts) == 3:
        if parts[2].lower() == "log":
            spec["log"] = True
        else:
            spec["step"] = parts[2]
    return name, spec


# -- data ------------------------------------------------------------------------------------
def default_val_samples(n_train: int) -> int:
    """A tenth of the training split, at most 5,000 (at least 1)."""
    return max(1, min(5000, n_train // 10))


def validation_split(dataset, val_samples: Optional[int] = None):
    """``dataset`` with its training split cut in two: the first samples stay the training
    split, the last ``val_samples`` (default :func:`default_val_samples`) become the ``x_test``
    / ``y_test`` a trial is scored on. The real test split is not in the result.

    Example::

        >>> ds = ffn.load_dataset("digits")
        >>> v = validation_split(ds, 100)
        >>> v.n_train, v.n_test, bool((v.x_test == ds.x_train[-100:]).all())
        (1247, 100, True)
    """
    from . import checks
    from .data import Dataset
    n = dataset.n_train
    v = default_val_samples(n) if val_samples is None else checks.count("val_samples",
                                                                        val_samples)
    if v >= n:
        raise ValueError(f"val_samples = {v}, but the training split of {dataset.name} has "
                         f"{n} samples: leave some to train on")
    k = n - v
    return Dataset(name=dataset.name, x_train=dataset.x_train[:k], y_train=dataset.y_train[:k],
                   x_test=dataset.x_train[k:], y_test=dataset.y_train[k:],
                   n_classes=dataset.n_classes, image_shape=dataset.image_shape,
                   source=f"{dataset.source}; training samples [0, {k}) to train, "
                          f"[{k}, {n}) to validate", path=dataset.path)


def _val_accuracy(net, x, y) -> float:
    """Accuracy of ``net`` on the float backend through its own readout."""
    from .run import get_backend, infer
    return float(infer(get_backend("float"), net, x).accuracy(y))


# -- storage, workers ------------------------------------------------------------------------
def _storage(storage) -> Tuple[Any, str, Optional[Path]]:
    """``(optuna storage, how to show it, lock file or None)``."""
    optuna = _optuna()
    if storage is None:
        return optuna.storages.InMemoryStorage(), "memory", None
    if not isinstance(storage, (str, Path)):
        return storage, type(storage).__name__, None
    text = str(storage)
    if "://" in text:
        path = Path(text.split(":///", 1)[1]) if text.startswith("sqlite:///") else None
        st = optuna.storages.RDBStorage(text, engine_kwargs={"connect_args": {"timeout": 60}}
                                        if path is not None else None)
        return st, text, None if path is None else Path(f"{path}.tune-lock")
    path = Path(text).expanduser()
    kind = _STORAGE_FILES.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"storage {text}: a .db file (SQLite), a .log or .journal file "
                         "(journal, for NFS) or a database URL")
    from . import checks
    checks.writable_file(path, "storage file")
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = Path(f"{path}.tune-lock")
    with _locked(lock):           # one process creates the tables of a new SQLite file
        if kind == "sqlite":
            st = optuna.storages.RDBStorage(f"sqlite:///{path.resolve()}",
                                            engine_kwargs={"connect_args": {"timeout": 60}})
        else:
            from optuna.storages import JournalStorage
            from optuna.storages.journal import JournalFileBackend
            st = JournalStorage(JournalFileBackend(str(path)))
    return st, str(path), lock


@contextlib.contextmanager
def _locked(path: Optional[Path]):
    """An exclusive lock on ``path`` among processes (none where locks are unavailable)."""
    try:
        import fcntl
    except ImportError:            # pragma: no cover - not POSIX
        fcntl = None
    if path is None or fcntl is None:
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _fail_orphans(study) -> None:
    """Mark FAIL the running trials of workers of this machine that no longer run (killed
    mid-trial); such a trial does not count towards the study's ``trials``."""
    optuna = _optuna()
    host = socket.gethostname()
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        who = str(t.user_attrs.get("worker", ""))
        h, _, pid = who.rpartition(":")
        if h == host and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(Exception):
                study._storage.set_trial_user_attr(t._trial_id, "interrupted",
                                                   f"worker {who} ended during the trial")
            study.tell(t.number, state=optuna.trial.TrialState.FAIL)


def _counted(study) -> int:
    """Trials that count towards ``trials``: finished, running, and failed by an error of
    their own (a trial whose worker was stopped does not count: the next run replaces it)."""
    S = _optuna().trial.TrialState
    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.state in (S.COMPLETE, S.PRUNED, S.RUNNING, S.WAITING)
               or (t.state == S.FAIL and "error" in t.user_attrs))


# -- the report ------------------------------------------------------------------------------
@dataclass
class TrialRecord:
    """One trial of a study: ``state`` ("complete", "pruned", "fail", "running"),
    validation accuracy ``value`` (a pruned trial: its last epoch's), ``params`` (as Optuna
    stores them: a tuple as its ``--set`` text), ``curve`` (validation accuracy per epoch),
    the full training ``config``, the number of ``train_samples`` it trained on, wall
    ``seconds``, the ``worker`` (host:pid) that ran it and, for a failed or stopped trial,
    the ``error``."""

    number: int
    state: str
    value: Optional[float]
    params: Dict[str, Any]
    curve: List[float]
    config: Optional[dict]
    train_samples: Optional[int]
    seconds: Optional[float]
    worker: Optional[str]
    error: Optional[str] = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _record(t) -> TrialRecord:
    seconds = None
    if t.datetime_start is not None and t.datetime_complete is not None:
        seconds = (t.datetime_complete - t.datetime_start).total_seconds()
    iv = t.intermediate_values
    error = t.user_attrs.get("error") or t.user_attrs.get("interrupted")
    return TrialRecord(number=t.number, state=t.state.name.lower(), value=t.value,
                       params=dict(t.params), curve=[float(iv[k]) for k in sorted(iv)],
                       config=t.user_attrs.get("config"),
                       train_samples=t.user_attrs.get("train_samples"), seconds=seconds,
                       worker=t.user_attrs.get("worker"), error=error)


@dataclass
class TuneReport:
    """What a study holds: its setup and every trial, best first by :attr:`best`.

    ``to_dict()`` (JSON), ``print(report)`` (a table, best line and how to train it) and
    ``plot(path)`` (validation accuracy per trial with the best so far, and per epoch)."""

    study_name: str
    storage: str
    algo: str
    recipe: Optional[str]
    dataset: str
    validation: dict
    space: Dict[str, dict]
    fixed: Dict[str, Any]
    trials: List[TrialRecord] = field(default_factory=list)
    max_minutes: Optional[float] = None

    @property
    def best(self) -> Optional[TrialRecord]:
        """The complete trial of highest validation accuracy (the first of equals)."""
        done = [t for t in self.trials if t.state == "complete" and t.value is not None]
        return max(done, key=lambda t: (t.value, -t.number)) if done else None

    @property
    def best_config(self) -> Optional[dict]:
        """The best trial's whole configuration (``ffn.train(ds, algo=..., **best_config)``
        trains it on the whole training split)."""
        b = self.best
        return None if b is None else b.config

    def counts(self) -> Dict[str, int]:
        out = {s: 0 for s in ("complete", "pruned", "fail", "running")}
        for t in self.trials:
            out[t.state] = out.get(t.state, 0) + 1
        return out

    def train_command(self) -> Optional[str]:
        """``ff-neuro train`` with the fixed fields and the best trial's values."""
        b = self.best
        if b is None:
            return None
        src = f"--recipe {self.recipe}" if self.recipe else f"--algo {self.algo}"
        sets = {**self.fixed, **b.params}
        args = " ".join(f"--set {k}={_text(v)}" for k, v in sets.items())
        budget = "" if self.max_minutes is None else f" --max-minutes {self.max_minutes:g}"
        return f"ff-neuro train {src} --dataset {self.dataset} {args}{budget} --out best.h5"

    def to_dict(self) -> dict:
        b = self.best
        return {"study_name": self.study_name, "storage": self.storage, "algo": self.algo,
                "recipe": self.recipe, "dataset": self.dataset, "validation": self.validation,
                "space": self.space, "fixed": _jsonable(self.fixed),
                "max_minutes": self.max_minutes, "counts": self.counts(),
                "workers": sorted({t.worker for t in self.trials if t.worker}),
                "best": None if b is None else {"number": b.number, "value": b.value,
                                                "params": b.params},
                "best_config": self.best_config, "train_command": self.train_command(),
                "trials": [t.to_dict() for t in self.trials]}

    def __str__(self) -> str:
        c = self.counts()
        workers = len({t.worker for t in self.trials if t.worker})
        v = self.validation
        lines = [f"study {self.study_name} in {self.storage}: {len(self.trials)} trials "
                 f"({c['complete']} complete, {c['pruned']} pruned, {c['fail']} failed"
                 + (f", {c['running']} running" if c["running"] else "")
                 + f") by {workers} worker{'s' * (workers != 1)}",
                 f"{self.recipe or self.algo} on {self.dataset}: trained on training samples "
                 f"[0, {v['train_samples']}), validated on the last {v['samples']}"]
        names = list(self.space)
        head = ["trial", "state", "val acc", "epochs", "seconds"] + names
        rows = []
        for t in self.trials:
            rows.append([str(t.number), t.state,
                         "-" if t.value is None else f"{t.value:.4f}", str(len(t.curve)),
                         "-" if t.seconds is None else f"{t.seconds:.1f}"]
                        + [_fmt(t.params.get(n)) for n in names])
        widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
        for r in [head] + rows:
            lines.append("  ".join(s.rjust(w) if i in (0, 2, 3, 4) else s.ljust(w)
                                   for i, (s, w) in enumerate(zip(r, widths))).rstrip())
        for t in self.trials:
            if t.error:
                lines.append(f"trial {t.number}: {t.error}")
        b = self.best
        if b is None:
            lines.append("no complete trial yet")
        else:
            lines.append(f"best: trial {b.number}, validation accuracy {b.value:.4f} ("
                         + ", ".join(f"{k}={_fmt(x)}" for k, x in b.params.items()) + ")")
            lines.append(f"train it on the whole training split: {self.train_command()}")
        return "\n".join(lines)

    def plot(self, path) -> Path:
        """A PNG: validation accuracy of every trial and the best so far (left), and of
        every epoch of every trial, pruned or stopped ones dashed (right)."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        from .fileio import save_figure
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        done = [t for t in self.trials if t.state == "complete" and t.value is not None]
        pruned = [t for t in self.trials if t.state == "pruned" and t.value is not None]
        a.scatter([t.number for t in done], [t.value for t in done], color="C0",
                  label="complete", zorder=3)
        if pruned:
            a.scatter([t.number for t in pruned], [t.value for t in pruned], color="0.6",
                      marker="x", label="pruned (last epoch)", zorder=3)
        best, xs, ys = -math.inf, [], []
        for t in sorted(done, key=lambda t: t.number):
            best = max(best, t.value)
            xs.append(t.number)
            ys.append(best)
        if xs:
            a.step(xs, ys, where="post", color="C1", label="best so far")
        a.set_xlabel("trial")
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        if self.trials:
            a.set_xlim(-0.5, max(t.number for t in self.trials) + 0.5)
        a.set_ylabel("validation accuracy")
        a.set_title(f"{self.study_name}: {len(self.trials)} trials", fontsize=9)
        a.legend(fontsize=8, loc="lower right")
        top = self.best
        for t in self.trials:
            if not t.curve:
                continue
            epochs = range(1, len(t.curve) + 1)
            if top is not None and t.number == top.number:
                b.plot(epochs, t.curve, color="C1", lw=2, label=f"best (trial {t.number})",
                       zorder=3)
            else:
                b.plot(epochs, t.curve, color="C0" if t.state == "complete" else "0.6",
                       ls="-" if t.state == "complete" else "--", lw=1, alpha=0.7)
        b.set_xlabel("epoch")
        b.set_ylabel("validation accuracy")
        b.set_title("per epoch (pruned or stopped trials dashed)", fontsize=9)
        b.xaxis.set_major_locator(MaxNLocator(integer=True))
        if top is not None:
            b.legend(fontsize=8, loc="lower right")
        return save_figure(fig, Path(path))


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "-" if v is None else _text(v)


def _load(study, storage_text: str) -> TuneReport:
    setup = study.user_attrs.get(_ATTR)
    if setup is None:
        raise ValueError(f"study {study.study_name} in {storage_text} was not made by "
                         "ff_neuro.tuning")
    return TuneReport(study_name=study.study_name, storage=storage_text, algo=setup["algo"],
                      recipe=setup["recipe"], dataset=setup["dataset"],
                      validation=setup["validation"], space=setup["space"],
                      fixed=setup["fixed"], max_minutes=setup.get("max_minutes"),
                      trials=[_record(t) for t in study.get_trials(deepcopy=False)])


def load_report(storage, study_name: str) -> TuneReport:
    """The report of the study ``study_name`` in ``storage`` (a ``.db`` or ``.log`` file, or a
    database URL), as it stands: trials still running elsewhere show as running.

    Example::

        >>> print(load_report("study.db", "ff-digits"))              # doctest: +SKIP
    """
    optuna = _optuna()
    st, text, _ = _storage(storage)
    try:
        study = optuna.load_study(study_name=study_name, storage=st)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(st)]
        raise ValueError(f"no study {study_name!r} in {text} (studies: "
                         f"{', '.join(names) or 'none'})") from None
    return _load(study, text)


# -- the sweep -------------------------------------------------------------------------------
class _ReportEpochs:
    """The callback a trial trains with: validation accuracy after every epoch, reported to
    the trial; when the pruner says so, training ends with ``optuna.TrialPruned`` (an
    exception, so that no caller's loop trains on: a time budget's re-sized schedule too)."""

    def __init__(self, trial, x, y):
        self.trial, self.x, self.y = trial, x, y
        self.last: Optional[float] = None
        self.pruned_at: Optional[int] = None

    def on_fit_start(self, trainer) -> None:
        pass

    def on_epoch_end(self, trainer, epoch, metrics):
        self.last = _val_accuracy(trainer.network(), self.x, self.y)
        self.trial.report(self.last, epoch)
        if self.trial.should_prune():
            self.pruned_at = epoch
            raise _optuna().TrialPruned(f"validation accuracy {self.last:.4f} after epoch "
                                        f"{epoch + 1}")
        return False

    def on_fit_end(self, trainer) -> None:
        pass


def _make_sampler(name: str, seed: Optional[int]):
    optuna = _optuna()
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"unknown sampler {name!r} ({'|'.join(SAMPLERS)})")


def _make_pruner(pruner):
    optuna = _optuna()
    if pruner is None or pruner == "none":
        return optuna.pruners.NopPruner()
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if isinstance(pruner, str):
        raise ValueError(f"unknown pruner {pruner!r} ({'|'.join(PRUNERS)}, or an Optuna "
                         "pruner)")
    return pruner


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def tune(dataset, space, trials: int = 20, algo: Optional[str] = None, recipe=None,
         fixed: Optional[Mapping[str, Any]] = None, storage=None,
         study_name: Optional[str] = None, val_samples: Optional[int] = None,
         max_minutes: Optional[float] = None, sampler: str = "tpe", pruner="median",
         seed: Optional[int] = 0, threads: Optional[int] = None, device: str = "cpu",
         progress: bool = False, log: Optional[Callable[[str], None]] = None) -> TuneReport:
    """Search ``space`` for the configuration of best validation accuracy; returns the
    study's :class:`TuneReport` (all its trials, from every worker).

    Parameters
    ----------
    dataset : Dataset or str
        A :class:`~ff_neuro.data.Dataset`, or a name for :func:`~ff_neuro.api.load_dataset`.
        Trials train on its training split less the last ``val_samples`` samples and are
        scored on those (:func:`validation_split`); its test split is never used.
    space : dict or path
        ``{field: spec}``, or a YAML file of it (:func:`parse_space`).
    trials : int
        The number of trials the study holds when this call returns (finished, or running in
        another worker; a trial whose worker was stopped does not count): each worker on the
        study trains trials until the study has that many. 0 only reports the study.
    algo : str, optional
        The learning rule: ``"ff"``, ``"hebbian"`` or ``"ffgaf"`` (default: the recipe's,
        else ``"ff"``).
    recipe : str, optional
        A recipe name or YAML file (:mod:`ff_neuro.recipes`) whose fields every trial starts
        from.
    fixed : dict, optional
        Fields every trial sets (over the recipe's).
    storage : str or path, optional
        None (in memory, this call only), an SQLite file (``.db``), a journal file
        (``.log``, ``.journal``; for NFS) or a database URL. Every trial is written there when
        it ends.
    study_name : str, optional
        Default ``"<recipe or algo>-<dataset>"``. A study records what it sweeps (algo,
        recipe, dataset, validation split, space, fixed fields, budget); joining it with
        other settings is a ValueError.
    val_samples : int, optional
        The size of the validation split (default :func:`default_val_samples`).
    max_minutes : float, optional
        A training-time budget per trial (as ``ffn.train``'s).
    sampler : str
        ``"tpe"`` (Optuna's default) or ``"random"``.
    pruner : str or optuna pruner
        ``"median"`` (Optuna's MedianPruner: after 5 trials, from the second epoch on, a trial
        below the median of the earlier trials at the same epoch stops), ``"none"``, or any
        Optuna pruner.
    seed : int, optional
        The sampler draws trial ``n`` with seed ``seed + n`` (None: unseeded).
    threads, device : optional
        Where each trial trains (as :func:`~ff_neuro.training.make_trainer`).
    progress : bool
        Show the trainer's epoch bar, and one line per trial on stderr.
    log : callable, optional
        A function given that line instead of stderr.

    Examples
    --------
    ::

        >>> rep = tune(ffn.load_dataset("digits"), {"lr": [0.002, 0.005]}, trials=1,
        ...            fixed=dict(hidden=(16,), time_steps=4, epochs=1))
        >>> rep.trials[0].state, len(rep.trials[0].curve)
        ('complete', 1)
    """
    optuna = _optuna()
    from . import checks
    from .training.trainer import fit_with_budget, make_config, make_trainer
    trials = checks.integer("trials", trials, low=0)
    if max_minutes is not None:
        checks.positive("max_minutes", max_minutes)
    if seed is not None:
        seed = checks.seed("seed", seed)
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r} ({'|'.join(SAMPLERS)})")
    pruner = _make_pruner(pruner)
    algo, r, base = _base(algo, recipe, fixed)
    params = parse_space(space, algo, r, fixed)
    if isinstance(dataset, str):
        from .data import load_dataset
        dataset = load_dataset(dataset)
    vds = validation_split(dataset, val_samples)
    xv, yv = vds.x_test, vds.y_test
    from .recipes import RECIPE_DIR
    recipe_name = (None if r is None else r.name if r.path is None
                   or r.path.parent == RECIPE_DIR else str(r.path))
    study_name = study_name or f"{r.name if r is not None else algo}-{dataset.name}"
    setup = {"algo": algo, "recipe": recipe_name, "dataset": dataset.name,
             "validation": {"samples": int(vds.n_test), "train_samples": int(vds.n_train),
                            "of": f"the training split of {dataset.name} "
                                  f"({dataset.n_train} samples), its last samples"},
             "space": {k: p.to_dict() for k, p in params.items()},
             "fixed": _jsonable(dict(fixed or {})),
             "max_minutes": None if max_minutes is None else float(max_minutes)}
    if log is None and progress:
        log = _stderr
    st, text, lock = _storage(storage)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with _locked(lock):
            study = optuna.create_study(storage=st, study_name=study_name,
                                        direction="maximize", load_if_exists=True)
            known = study.user_attrs.get(_ATTR)
            if known is None:
                study.set_user_attr(_ATTR, setup)
            elif known != setup:
                diff = ", ".join(k for k in setup if known.get(k) != setup[k])
                raise ValueError(f"study {study_name} in {text} sweeps other settings "
                                 f"({diff} differ): give another study_name, or its settings")
        study.pruner = pruner
        me = _worker_id()
        while True:
            with _locked(lock):
                _fail_orphans(study)
                n = _counted(study)
                if n >= trials:
                    break
                study.sampler = _make_sampler(sampler, None if seed is None
                                              else seed + len(study.get_trials(deepcopy=False)))
                trial = study.ask()
                trial.set_user_attr("worker", me)
                values = {k: p.suggest(trial) for k, p in params.items()}
            t0 = time.perf_counter()
            try:
                try:
                    cfg = make_config(algo, **{**base, **values})
                    trial.set_user_attr("config", _jsonable(cfg.to_dict()))
                    tr = make_trainer(algo, vds, cfg, device=device, threads=threads)
                    trial.set_user_attr("train_samples", int(tr.ds.n_train))
                    cb = _ReportEpochs(trial, xv, yv)
                    net, _ = fit_with_budget(tr, max_minutes, progress=progress,
                                             callbacks=[cb])
                    value = cb.last if cb.last is not None else _val_accuracy(net, xv, yv)
                except optuna.TrialPruned:
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    state, value = f"pruned after epoch {cb.pruned_at + 1}", cb.last
                except (ValueError, RuntimeError, MemoryError) as exc:
                    trial.set_user_attr("error", " ".join(str(exc).split())
                                        or type(exc).__name__)
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    state, value = "failed", None
                else:
                    study.tell(trial, value)
                    state = "complete"
            except BaseException:        # stopped (Ctrl-C, SIGTERM): the trial is not counted
                with contextlib.suppress(Exception):
                    trial.set_user_attr("interrupted", "stopped during the trial")
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                raise
            if log is not None:
                shown = ", ".join(f"{k}={_fmt(trial.params.get(k))}" for k in params)
                acc = "" if value is None else f", validation accuracy {value:.4f}"
                err = trial.user_attrs.get("error") if value is None else None
                try:
                    b = study.best_trial
                    best = f"; best {b.value:.4f} (trial {b.number})"
                except ValueError:
                    best = ""
                log(f"trial {trial.number} {state}{acc} ({shown}; "
                    f"{time.perf_counter() - t0:.1f} s){': ' + err if err else ''}{best}")
        return _load(study, text)
    finally:
        optuna.logging.set_verbosity(verbosity)


__all__ = ["INSTALL_HINT", "PRUNERS", "Param", "SAMPLERS", "TrialRecord", "TuneReport",
           "default_val_samples", "load_report", "parse_param", "parse_space", "read_space",
           "tune", "validation_split"]
