"""The stage-by-stage CLI on a small digits model: train, quantize, export, evaluate, energy."""
import importlib.util
import json
import subprocess
import sys

import h5py
import pytest

from ff_neuro.recipes import get_recipe


def ff(*args, timeout=600):
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.lava
def test_stage_by_stage(tmp_path):
    m, q, n = tmp_path / "m.h5", tmp_path / "q.h5", tmp_path / "n.h5"
    d = json.loads(ff("train", "--dataset", "digits", "--epochs", "4", "--hidden", "60,60",
                      "--out", m, "--json").stdout)
    assert d["test_accuracy_float"] > 0.5 and m.exists()
    d = json.loads(ff("quantize", m, "--out", q, "--json").stdout)
    assert d["ok"] and len(d["layers"]) == 2 and d["layers"][0]["rate_fixed"] > 0
    out = ff("export", q, "--out", n).stdout
    assert "NetX" in out and "Fits on one chip" in out and n.exists()
    with h5py.File(n, "r") as f:
        assert f["layer/2/weight"].shape == (60, 60)
    emu = json.loads(ff("evaluate", q, "--backend", "emulator", "--samples", "30",
                        "--json").stdout)
    lava = json.loads(ff("evaluate", q, "--backend", "lava-fixed", "--samples", "30",
                         "--json").stdout)
    assert emu["samples"] == lava["samples"] == 30
    assert emu["accuracy"] == lava["accuracy"]
    e = json.loads(ff("energy", q, "--samples", "30", "--json").stdout)
    assert e["profile"] == "ffgaf-table2" and e["runs_per_inference"] == 10
    assert e["parameters"] == 74 * 60 + 60 * 60
    # several profiles side by side, CSV and plot; the linear readout costs one run
    c = json.loads(ff("energy", q, "--samples", "20", "--compare",
                      "ffgaf-table2,lemaire2022-45nm,loihi", "--csv", tmp_path / "e.csv",
                      "--plot", tmp_path / "e.png", "--json").stdout)
    assert set(c["profiles"]) == {"ffgaf-table2", "lemaire2022-45nm", "loihi"}
    rows = (tmp_path / "e.csv").read_text().splitlines()
    assert rows[0].startswith("profile,layer") and len(rows) == 1 + 3 * 3
    assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"
    lin = json.loads(ff("energy", q, "--samples", "20", "--readout", "linear", "--json").stdout)
    assert lin["runs_per_inference"] == 1 and lin["layers"][-1]["name"] == "readout (host)"
    tr = json.loads(ff("energy", q, "--samples", "20", "--mode", "training", "--json").stdout)
    assert tr["runs_per_inference"] == 2
    ro = json.loads(ff("evaluate", q, "--readout", "linear", "--samples", "60", "--json").stdout)
    assert ro["readout"] == "linear" and ro["accuracy"] > 0.3
    # NIR export reads back with nir.read; the fit check comes with every export
    import nir
    fit = json.loads(ff("export", q, "--format", "nir", "--out", tmp_path / "m.nir",
                        "--json").stdout)["fit"]
    assert fit["fits_on_one_chip"] is True
    g = nir.read(str(tmp_path / "m.nir"))
    assert g.nodes["fc0"].weight.shape == (60, 74)


def test_ffgaf_table_cli():
    rows = json.loads(ff("energy", "--table", "ffgaf", "--json").stdout)
    ffs = next(r for r in rows if r["model"] == "FF*")
    assert (round(ffs["memory_mJ"], 3), round(ffs["compute_mJ"], 3),
            round(ffs["total_mJ"], 3)) == (0.157, 0.059, 0.216)


def test_help_explains():
    out = ff("--help").stdout
    for cmd in ("train", "quantize", "export", "evaluate", "energy", "demo"):
        assert cmd in out
    assert "Lava" in ff("demo", "--help").stdout


def test_train_refuses_options_of_another_algorithm(tmp_path):
    # every configuration field is an option; one that --algo's configuration lacks is refused
    # before training, naming the rules that have it
    for args, msg in ((["--trace-tau", "0.9"], "--trace-tau: an option of --algo hebbian"),
                      (["--algo", "hebbian", "--dropout", "0.1"], "--dropout: an option of --algo ff"),
                      (["--algo", "ffgaf", "--softmax-negatives", "3"], "--softmax-negatives"),
                      (["--algo", "hebbian", "--label-smoothing", "0.1"], "--label-smoothing"),
                      (["--algo", "ffgaf", "--weight-decay", "1e-3"], "--weight-decay"),
                      (["--algo", "ffgaf", "--lr-decay-to", "0.1"], "--lr-decay-to"),
                      (["--algo", "ffgaf", "--gain", "0.5"], "--gain"),
                      (["--algo", "hebbian", "--recipe", "fashion"],
                       "--recipe fashion trains with --algo ff, not hebbian"),
                      (["--algo", "hebbian", "--no-readout"], "--no-readout: an option"),
                      (["--algo", "ffgaf", "--receptive-field", "4,3,2"], "--receptive-field"),
                      (["--recipe", "nope"], "unknown recipe 'nope'")):
        code, err = _train_exit(tmp_path, args)
        assert code == 2 and msg in err, err
        assert not (tmp_path / "m.h5").exists()
    # values are checked by the configuration class, in its words (exit 1, one line)
    for args, msg in ((["--locally-connected"], "locally connected first layer needs "
                                                "receptive_field"),
                      (["--set", "hiden=3"], "FFTrainConfig has no field 'hiden'"),
                      (["--set", "epochs=x"], "epochs: expected an integer"),
                      (["--loss", "bogus"], "unknown loss 'bogus'")):
        code, err = _train_exit(tmp_path, args)
        assert code == 1 and msg in err, err
        assert len(err.strip().splitlines()) == 1
        assert not (tmp_path / "m.h5").exists()
    # the same through a real process: exit codes and stderr as a shell sees them
    for args, code, msg in ((["--algo", "hebbian", "--dropout", "0.1"], 2, "--dropout"),
                            (["--set", "epochs=x"], 1, "epochs: expected an integer")):
        proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "train", *args, "--out",
                               str(tmp_path / "m.h5")], capture_output=True, text=True)
        assert proc.returncode == code and msg in proc.stderr, proc.stderr
        last = proc.stderr.strip().splitlines()[-1]
        assert msg in last and "Traceback" not in proc.stderr and not proc.stdout


def _train_exit(tmp_path, args):
    """``ff-neuro train ARGS --out tmp/m.h5`` in this process: (exit code, stderr)."""
    from click.testing import CliRunner
    from ff_neuro.cli import main
    r = CliRunner().invoke(main, ["train", *args, "--out", str(tmp_path / "m.h5")])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stderr


def test_train_ff_with_local_receptive_fields(tmp_path):
    # 8x8 digits, 4 maps of 3x3 patches at stride 2: 64 first-layer neurons, own weights each
    m = tmp_path / "m.h5"
    d = json.loads(ff("train", "--epochs", "2", "--hidden", "64,20", "--receptive-field",
                      "4,3,2", "--locally-connected", "--out", m, "--json").stdout)
    c = d["config"]
    assert (c["receptive_field"], c["receptive_shared"]) == ([4, 3, 2], False)
    from ff_neuro.model import load_model
    from ff_neuro.training.receptive import ReceptiveGrid
    w = load_model(m).layers[0].weight[:, :64]
    assert w.shape == (64, 64) and not w[~ReceptiveGrid((8, 8), 4, 3, 2).mask()].any()
    assert w[ReceptiveGrid((8, 8), 4, 3, 2).mask()].all()
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "train", "--hidden", "60,20",
                           "--receptive-field", "4,3,2", "--out", str(tmp_path / "x.h5")],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "set hidden[0] = 64" in proc.stderr, proc.stderr


def test_train_ff_regularisation_and_softmax_options_reach_the_config(tmp_path):
    d = json.loads(ff("train", "--epochs", "1", "--hidden", "20", "--dropout", "0.1",
                      "--weight-decay", "0.01", "--loss", "softmax", "--softmax-negatives", "3",
                      "--label-smoothing", "0.1", "--surrogate-slope", "2.5",
                      "--out", tmp_path / "m.h5", "--json").stdout)
    c = d["config"]
    assert (c["dropout"], c["weight_decay"], c["loss"], c["softmax_negatives"],
            c["label_smoothing"], c["surrogate_slope"]) == (0.1, 0.01, "softmax", 3, 0.1, 2.5)
    assert d["test_accuracy_float"] > 0.1


def test_train_recipe_sets_unset_options_and_given_options_win(tmp_path):
    # the "fashion" recipe on digits, shrunk by explicit options: those must beat the recipe,
    # everything else must come from it
    d = json.loads(ff("train", "--dataset", "digits", "--recipe", "fashion", "--epochs", "8",
                      "--hidden", "40,40", "--alpha", "30", "--batch-size", "32",
                      "--out", tmp_path / "m.h5", "--json").stdout)
    c = d["config"]
    assert (c["hidden"], c["epochs"], c["alpha"], c["batch_size"], d["epochs"]) == (
        [40, 40], 8, 30.0, 32, 8)
    for k in ("beta", "loss", "softmax_negatives", "surrogate_slope", "encoding",
              "lr_schedule", "matmul_precision", "lr", "time_steps", "eval_samples"):
        assert c[k] == get_recipe("fashion").config[k], k
    assert d["test_accuracy_float"] > 0.5
    g = json.loads(ff("train", "--dataset", "digits", "--recipe", "ghader", "--epochs", "1",
                      "--hidden", "20", "--batch-size", "256", "--out", tmp_path / "g.h5",
                      "--json").stdout)["config"]
    assert (g["loss"], g["negatives"], g["label_embedding"], g["alpha"], g["lr"],
            g["batch_size"]) == ("swish", "hard", "overlay", 6.0, 8e-4, 256)


def test_train_ff_within_a_time_budget(tmp_path):
    # 0.15 minutes on digits: the probe sizes the schedule far below --epochs 2000, and the
    # run ends on time (within one epoch of the budget)
    d = json.loads(ff("train", "--dataset", "digits", "--hidden", "40,40", "--epochs", "2000",
                      "--lr-schedule", "cosine", "--max-minutes", "0.15", "--threads", "1",
                      "--out", tmp_path / "m.h5", "--json").stdout)
    b = d["budget"]
    assert b["budget_minutes"] == 0.15 and 1 <= b["probe"]["epochs_scheduled"] < 2000
    # re-sized from the measured epochs (steps + the per-epoch accuracy check): the cosine
    # schedule (nearly) ends within the budget
    assert 0.8 * d["config"]["epochs"] <= d["epochs"] <= d["config"]["epochs"] < 2000
    assert d["train_minutes"] < 0.15 + 0.05
    assert d["test_accuracy_float"] > 0.3


def test_export_refuses_float_model(tmp_path):
    m = tmp_path / "m.h5"
    ff("train", "--epochs", "1", "--hidden", "20", "--out", m)
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "export", str(m), "--out",
                           str(tmp_path / "n.h5")], capture_output=True, text=True)
    assert proc.returncode != 0 and "ff-neuro quantize" in proc.stderr


@pytest.mark.skipif(importlib.util.find_spec("lava") is not None,
                    reason="the Lava-free tier checks this (Lava is installed here)")
def test_without_lava_the_lava_commands_say_how_to_get_it(tmp_path):
    """On a Lava-free install the demo is refused before any training, and a Lava backend
    says why it cannot run and what to install; the rest of the chain works."""
    ff("train", "--dataset", "digits", "--epochs", "1", "--hidden", "20", "--no-readout",
       "--out", tmp_path / "m.h5")
    ff("quantize", tmp_path / "m.h5", "--out", tmp_path / "q.h5")
    for args in (["demo", "--out-dir", tmp_path / "d"],
                 ["evaluate", tmp_path / "q.h5", "--backend", "lava-fixed"]):
        proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", *map(str, args)],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 1, proc.stderr
        assert "Python 3.10" in proc.stderr and "ff-neuro[lava]" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "d").exists()
