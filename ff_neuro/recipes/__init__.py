"""Training recipes as data: one YAML file per recipe in this folder.

A recipe names its learning rule (``algo``), the configuration fields it sets (the rest keep
the configuration class's defaults, the same ones ``ffn.train`` and ``ff-neuro train`` use),
and the result file in ``benchmarks/results/`` that backs its figure (``result``; ``null``
where no run of ours backs one, e.g. a paper's own recipe, then ``reference`` says whose
figure it is). ``max_minutes``, when given, is the training-time budget the result was
measured with.

    >>> from ff_neuro.recipes import get_recipe, list_recipes
    >>> r = get_recipe("fashion")
    >>> r.algo, r.result
    ('ff', 'benchmarks/results/ff_fashion_slope2.5_500x2_60min.json')
    >>> cfg = r.make_config(epochs=5)            # a field set on top of the recipe
    >>> cfg.hidden, cfg.epochs
    ((500, 500), 5)

``ff-neuro train --recipe fashion --set epochs=5`` does the same from the command line;
``ff-neuro recipes`` lists them. To add a recipe, add a YAML file here with the keys above.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

RECIPE_DIR = Path(__file__).resolve().parent
_KEYS = {"name", "algo", "summary", "description", "dataset", "result", "reference",
         "max_minutes", "config"}


@dataclass(frozen=True)
class Recipe:
    """One recipe file (see the module's documentation for the keys)."""

    name: str
    algo: str
    summary: str
    config: Dict[str, Any]
    description: str = ""
    dataset: Optional[str] = None
    result: Optional[str] = None
    reference: Optional[str] = None
    max_minutes: Optional[float] = None
    path: Optional[Path] = field(default=None, compare=False)

    def make_config(self, **overrides):
        """The configuration object: the class defaults, then this recipe's fields, then
        ``overrides`` (field names are checked; values by the configuration class)."""
        from ..training.trainer import make_config
        return make_config(self.algo, **{**self.config, **overrides})

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["path"] = None if self.path is None else str(self.path)
        return d


def _load(path: Path) -> Recipe:
    try:
        d = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"recipe {path}: not valid YAML ({exc})") from None
    if not isinstance(d, dict):
        raise ValueError(f"recipe {path}: expected a mapping of {', '.join(sorted(_KEYS))}")
    unknown = sorted(set(d) - _KEYS)
    missing = sorted({"name", "algo", "summary", "config"} - set(d))
    if unknown or missing:
        raise ValueError(f"recipe {path}: " + "; ".join(
            ([f"unknown keys {', '.join(unknown)}"] if unknown else [])
            + ([f"missing keys {', '.join(missing)}"] if missing else [])))
    if d["name"] != path.stem:
        raise ValueError(f"recipe {path}: its name {d['name']!r} must be the file name")
    from ..training.trainer import ALGORITHMS
    if d["algo"] not in ALGORITHMS:
        raise ValueError(f"recipe {path}: unknown algo {d['algo']!r} ({'|'.join(ALGORITHMS)})")
    return Recipe(**{**d, "config": dict(d["config"] or {})}, path=path)


def list_recipes() -> List[Recipe]:
    """Every recipe, sorted by name."""
    return [_load(RECIPE_DIR / f"{n}.yaml") for n in recipe_names()]


def recipe_names() -> List[str]:
    """The names of the recipes, sorted."""
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def get_recipe(name) -> Recipe:
    """The recipe ``name``, or a YAML file's path (a recipe of your own)."""
    path = Path(str(name))
    if path.suffix in (".yaml", ".yml") and path.exists():
        return _load(path)
    path = RECIPE_DIR / f"{name}.yaml"
    if not path.exists():
        raise ValueError(f"unknown recipe {name!r} ({', '.join(recipe_names())}, or a path "
                         "to a .yaml recipe)")
    return _load(path)


# -- "field=value" assignments, typed by the configuration class -----------------------------
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _convert(tp, text: str, name: str):
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union:
        if type(None) in args and text.strip().lower() in ("none", "null", ""):
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for a in sorted(options, key=lambda a: typing.get_origin(a) is not None):
            try:
                return _convert(a, text, name)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(errors[-1])
    if origin in (tuple, list):
        item = args[0] if args else str
        parts = [t.strip() for t in text.strip().strip("[]()").split(",") if t.strip()]
        return tuple(_convert(item, p, name) for p in parts)
    if tp is bool:
        t = text.strip().lower()
        if t in _TRUE or t in _FALSE:
            return t in _TRUE
        raise ValueError(f"{name}: expected true or false, got {text!r}")
    if tp is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{name}: expected an integer, got {text!r}") from None
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{name}: expected a number, got {text!r}") from None
    return text


def field_types(cls) -> Dict[str, Any]:
    """``{field name: type}`` of a configuration dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def parse_assignments(cls, items) -> Dict[str, Any]:
    """``["field=value", ...]`` as ``{field: value}`` typed by ``cls``'s field types
    (``hidden=500,500``, ``beta=0.9,0.99``, ``receptive_shared=false``,
    ``lr_decay_to=none``); an unknown field or a malformed item is a ValueError naming it."""
    types = field_types(cls)
    out: Dict[str, Any] = {}
    for item in items:
        name, sep, text = str(item).partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise ValueError(f"--set expects FIELD=VALUE, got {item!r}")
        if name not in types:
            raise ValueError(f"{cls.__name__} has no field {name!r} (fields: "
                             f"{', '.join(sorted(types))})")
        out[name] = _convert(types[name], text, name)
    return out


def field_help(cls) -> List[Tuple[str, str, str]]:
    """``(field, type, default)`` of every field of ``cls``, for help texts."""
    rows = []
    for f in dataclasses.fields(cls):
        default = (f.default if f.default is not dataclasses.MISSING else
                   f.default_factory() if f.default_factory is not dataclasses.MISSING else "")
        tp = str(field_types(cls)[f.name]).replace("typing.", "")
        rows.append((f.name, tp, repr(default)))
    return rows


__all__ = ["RECIPE_DIR", "Recipe", "field_help", "field_types", "get_recipe", "list_recipes",
           "parse_assignments", "recipe_names"]
