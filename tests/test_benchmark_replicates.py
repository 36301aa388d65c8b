"""benchmarks/ff_replicates.py on the committed results of real ff_fashion.py runs."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
RESULTS = BENCH / "results"
# two named seed replicates of the 784-800-250 pair (ff_fashion.json, the headline, may change)
SEED2 = RESULTS / "ff_fashion_lc7_lc11_250_seed2_60min.json"
SEED4 = RESULTS / "ff_fashion_lc7_lc11_250_seed4_60min.json"
OTHER_RECIPE = RESULTS / "ff_fashion_lc7_lc11_60min.json"   # 800-500 members


def _module():
    spec = importlib.util.spec_from_file_location("ff_replicates", BENCH / "ff_replicates.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _load(p: Path) -> dict:
    return json.loads(p.read_text())


def test_replicates_summarize_real_runs():
    mod = _module()
    a, b = _load(SEED4), _load(SEED2)
    out = mod.summarize([a, b], [SEED4.name, SEED2.name], target=0.905)
    floats = [a["test_accuracy_float"], b["test_accuracy_float"]]
    assert out["n_runs"] == 2
    assert out["float"]["mean"] == pytest.approx(sum(floats) / 2)
    assert out["float"]["min"] == min(floats) and out["float"]["max"] == max(floats)
    assert out["float"]["std"] == pytest.approx(abs(floats[0] - floats[1]) / 2 ** 0.5)
    assert out["float"]["runs_at_or_above_target"] == sum(f >= 0.905 for f in floats)
    assert [r["seeds"] for r in out["runs"]] == [a["members"]["seeds"], b["members"]["seeds"]]
    assert out["recipe"]["minutes"] == 60.0 and out["recipe"]["members"] == 2


def test_replicates_refuse_other_recipes_and_repeated_seeds():
    mod = _module()
    a = _load(SEED4)
    with pytest.raises(ValueError, match="not a replicate.*configs"):
        mod.summarize([a, _load(OTHER_RECIPE)], ["a", "b"], target=0.905)
    with pytest.raises(ValueError, match="same seeds"):
        mod.summarize([a, a], ["a", "b"], target=0.905)
    with pytest.raises(ValueError, match="at least two"):
        mod.summarize([a], ["a"], target=0.905)
    other_budget = dict(_load(SEED2), command=a["command"].replace("--minutes 60", "--minutes 30"))
    with pytest.raises(ValueError, match="minutes"):
        mod.summarize([a, other_budget], ["a", "b"], target=0.905)


def test_replicates_cli_writes_json_and_exits_cleanly_on_mismatch(tmp_path):
    out = tmp_path / "rep.json"
    ok = subprocess.run([sys.executable, str(BENCH / "ff_replicates.py"), str(SEED4),
                         str(SEED2), "--out", str(out)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(out.read_text())["n_runs"] == 2 and "mean" in ok.stdout
    bad = subprocess.run([sys.executable, str(BENCH / "ff_replicates.py"), str(SEED4),
                          str(OTHER_RECIPE), "--out", str(tmp_path / "bad.json")],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "not a replicate" in bad.stderr
    assert not (tmp_path / "bad.json").exists()
