"""The library's few-call API (``import ff_neuro as ffn``): the same checks and defaults as the
commands, report objects with to_dict, a table and a plot."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

import ff_neuro as ffn
from ff_neuro.run import get_backend, infer


@pytest.fixture(scope="module")
def trained():
    ds = ffn.load_dataset("digits")
    net = ffn.train(ds, epochs=3, hidden=(40, 40))
    qnet, report = ffn.quantize(net)
    return ds, net, qnet, report


def test_train_refuses_unknown_settings_before_training():
    ds = ffn.load_dataset("digits")
    with pytest.raises(TypeError, match="FFTrainConfig has no field epoch "):
        ffn.train(ds, epoch=3)
    with pytest.raises(ValueError, match="unknown algo 'bptt'"):
        ffn.train(ds, algo="bptt")
    with pytest.raises(ValueError, match="epochs"):
        ffn.train(ds, epochs=0)


def test_evaluate_report(trained, tmp_path):
    ds, net, qnet, _ = trained
    rep = ffn.evaluate(qnet, ds, backend="emulator")
    direct = infer(get_backend("emulator"), qnet, ds.x_test)
    assert rep.accuracy == direct.accuracy(ds.y_test) > 0.3
    assert rep.to_dict().keys() == {"backend", "readout", "samples", "accuracy", "seconds"}
    assert rep.samples == len(ds.y_test) and rep.readout == "sweep"
    assert str(rep).startswith("emulator (sweep): accuracy")
    assert rep.confusion().sum() == rep.samples
    assert np.trace(rep.confusion()) == round(rep.accuracy * rep.samples)
    png = rep.plot(tmp_path / "confusion.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # an (x, y) pair and a sample count; the CLI's backend aliases
    few = ffn.evaluate(net, (ds.x_test, ds.y_test), backend="torch", samples=50)
    assert few.backend == "float" and few.samples == 50
    with pytest.raises(ValueError, match="samples"):
        ffn.evaluate(net, ds, samples=10**6)


def test_energy_and_export(trained, tmp_path):
    ds, net, qnet, _ = trained
    with pytest.raises(ValueError, match="quantize"):
        ffn.energy_report(net, ds)
    with pytest.raises(Exception, match="no-such-chip"):
        ffn.energy_report(qnet, ds, profile="no-such-chip")
    e = ffn.energy_report(qnet, ds, profile="loihi2", samples=100)
    assert e.total_mJ > 0 and "Energy per inference on profile 'loihi2'" in str(e)
    assert e.to_dict()["total_mJ"] == e.total_mJ
    assert e.plot(tmp_path / "energy.png").read_bytes()[:4] == b"\x89PNG"
    quant = trained[3]
    assert quant.to_dict()["layers"] and "rate float" in str(quant)
    assert quant.plot(tmp_path / "quant.png").read_bytes()[:4] == b"\x89PNG"
    netx = ffn.export_to(qnet, tmp_path / "m.netx.h5")
    with h5py.File(netx) as f:
        assert "layer" in f
    with pytest.raises(ValueError, match="quantize"):
        ffn.export_to(net, tmp_path / "x.netx.h5")
    g = ffn.export_to(net, tmp_path / "m.nir")
    back = ffn.from_nir(__import__("nir").read(g))
    assert back.shapes == net.shapes
    path = ffn.save(qnet, tmp_path / "m.h5")
    assert ffn.load(path).sizes == qnet.sizes


@pytest.mark.lava
def test_parity_report(trained):
    ds, net, qnet, _ = trained
    rep = ffn.parity_report(qnet, ds, backends=("emulator", "lava-fixed"), samples=5)
    assert rep.pairs["emulator_vs_lava-fixed"].spike_agreement == 1.0
    assert "emulator_vs_lava-fixed" in rep.format()


def test_timeout_goes_to_the_supervised_backends_only():
    """One call for every backend: the Lava backends take the time limit, the in-process ones
    need none (constructing a Lava backend imports no Lava, so this runs in both tiers)."""
    from ff_neuro.run import get_backend
    assert get_backend("lava-fixed", timeout_s=7).timeout_s == 7.0
    assert get_backend("lava_floating_pt", timeout_s=9).timeout_s == 9.0
    for name in ("float", "emulator"):
        be = get_backend(name, timeout_s=7)
        assert be.name == name and not hasattr(be, "timeout_s")
