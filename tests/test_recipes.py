"""Recipes as data: every recipe loads, builds its configuration, and agrees with the result
file it names; ``--set`` is typed by the configuration class; the CLI and the library take
the same recipes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ff_neuro.config import FFTrainConfig
from ff_neuro.recipes import (get_recipe, list_recipes, parse_assignments, recipe_names)
from ff_neuro.training.hebbian import HebbianConfig
from ff_neuro.training.trainer import config_class

ROOT = Path(__file__).resolve().parent.parent
RECIPES = recipe_names()


def _configs(obj):
    """Every dict in a result file that records a training configuration."""
    if isinstance(obj, dict):
        if "seed" in obj and ("hidden" in obj or "channels" in obj):
            yield obj
        for v in obj.values():
            yield from _configs(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _configs(v)


def _same(a, b):
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b or (isinstance(a, float) and isinstance(b, (int, float))
                      and abs(a - b) <= 1e-12 * max(1.0, abs(a)))


def test_the_recipes_are_there():
    assert {"fashion", "fashion-local", "ghader", "hebbian-fashion", "ffgaf-paper",
            "ffgaf-micro"} <= set(RECIPES)
    assert [r.name for r in list_recipes()] == RECIPES


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_builds_and_names_its_evidence(name):
    r = get_recipe(name)
    cfg = r.make_config()
    assert isinstance(cfg, config_class(r.algo))
    for k, v in r.config.items():                # the recipe's fields, through the class
        assert _same(cfg.to_dict()[k], v), k
    assert r.summary and r.description
    assert r.result or r.reference, "a recipe names the result file or the paper behind it"
    if r.result is None:
        return
    path = ROOT / r.result
    assert path.parent == ROOT / "benchmarks" / "results" and path.exists(), r.result
    recorded = list(_configs(json.loads(path.read_text())))
    assert recorded, f"{r.result} records no configuration"
    # the run behind the figure used the recipe's settings (a budgeted run sizes its epochs)
    fields = {k: v for k, v in cfg.to_dict().items()
              if k in r.config and not (k == "epochs" and r.max_minutes is not None)}
    # matmul_precision "auto" is what the measuring machine resolved (bf16 where native)
    close = [c for c in recorded if all(
        _same(c.get(k), v) or (k == "matmul_precision" and v == "auto"
                               and c.get(k) in ("fp32", "bf16"))
        for k, v in fields.items() if k in c)]
    assert close, (f"no configuration in {r.result} matches the recipe {name}: "
                   f"{[{k: c.get(k) for k in fields} for c in recorded[:3]]}")


def test_overrides_and_user_recipes(tmp_path):
    r = get_recipe("fashion")
    cfg = r.make_config(epochs=3, hidden=(40, 40))
    assert (cfg.epochs, cfg.hidden, cfg.beta, cfg.loss) == (3, (40, 40), 0.99, "softmax")
    with pytest.raises(TypeError, match="no field hiden"):
        r.make_config(hiden=3)
    with pytest.raises(ValueError, match="unknown recipe 'nope'"):
        get_recipe("nope")
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: mine\nalgo: hebbian\nsummary: a test\nreference: none\n"
                    "config:\n  hidden: [30]\n  epochs: 2\n")
    m = get_recipe(str(mine))
    assert (m.algo, m.make_config().hidden, m.make_config().update_from_step) == (
        "hebbian", (30,), 16)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nalgo: ff\nsummary: x\nconfig: {}\nextra: 1\n")
    with pytest.raises(ValueError, match="unknown keys extra"):
        get_recipe(str(bad))
    bad.write_text("name: other\nalgo: ff\nsummary: x\nconfig: {}\n")
    with pytest.raises(ValueError, match="must be the file name"):
        get_recipe(str(bad))


def test_assignments_are_typed_by_the_class():
    got = parse_assignments(FFTrainConfig, ["hidden=500,500", "beta=0.9,0.99", "epochs=3",
                                            "receptive_shared=false", "loss=softmax",
                                            "receptive-field=8,7,3"])
    assert got == {"hidden": (500, 500), "beta": (0.9, 0.99), "epochs": 3,
                   "receptive_shared": False, "loss": "softmax", "receptive_field": (8, 7, 3)}
    assert parse_assignments(FFTrainConfig, ["beta=0.95"]) == {"beta": 0.95}
    assert parse_assignments(HebbianConfig, ["lr_decay_to=none", "update_from_step=3"]) == {
        "lr_decay_to": None, "update_from_step": 3}
    for bad, msg in ((["epochs=x"], "epochs: expected an integer"),
                     (["nope=1"], "no field 'nope'"),
                     (["epochs"], "FIELD=VALUE"),
                     (["receptive_shared=maybe"], "expected true or false")):
        with pytest.raises(ValueError, match=msg):
            parse_assignments(FFTrainConfig, bad)


def test_cli_and_library_train_the_same_recipe(tmp_path, digits):
    import numpy as np

    import ff_neuro as ffn
    out = tmp_path / "c.h5"
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "train", "--recipe",
                           "ffgaf-micro", "--set", "epochs=1", "--set", "feature_samples=200",
                           "--threads", "1", "--out", str(out), "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    d = json.loads(proc.stdout)
    assert d["algo"] == "ffgaf" and d["recipe"]["name"] == "ffgaf-micro"
    assert d["config"]["channels"] == [20, 20, 20, 40] and d["config"]["epochs"] == 1
    net = ffn.train(digits, recipe="ffgaf-micro", epochs=1, feature_samples=200, threads=1)
    cli = ffn.load(out)
    for a, b in zip(net.layers, cli.layers):       # same defaults, same seed: same network
        np.testing.assert_array_equal(a.weight, b.weight)
    listing = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "train", "--list-recipes"],
                             capture_output=True, text=True)
    assert listing.returncode == 0
    assert "benchmarks/results/hebbian_fashion.json" in listing.stdout
    fields = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "train", "--algo", "hebbian",
                             "--list-fields"], capture_output=True, text=True)
    assert "update_from_step (int|none, default None)" in fields.stdout
