"""Model files written by ff-neuro 0.1.0 (format version 1: a dense FF model, a Hebbian model
and a conv FFGAF model, in ``tests/data/v1``) load and compute what that release computed on
them: the same predictions and every layer's spikes, on the float backend and the emulator."""
from pathlib import Path

import numpy as np
import pytest

from ff_neuro.model import ClassGroups, LabelSweep, LinearReadout, load_model, save_model
from ff_neuro.run import get_backend, label_sweep, one_pass

DATA = Path(__file__).parent / "data" / "v1"
N = 12   # the test samples the fixtures were computed on


@pytest.fixture(scope="module")
def expected():
    return dict(np.load(DATA / "expected.npz"))


def _check(net, expected, name, digits, tmp_path):
    x = digits.x_test[:N]
    for kind in ("float", "emulator"):
        be = get_backend(kind)
        if isinstance(net.readout, LabelSweep):
            r = label_sweep(be, net, x, keep_spikes=True, chunk=N)
        else:
            r = one_pass(be, net, x, keep_spikes=True)
        np.testing.assert_array_equal(r.predictions, expected[f"{name}/{kind}/pred"])
        for k, s in enumerate(r.spikes):
            want = expected[f"{name}/{kind}/spikes{k}"]          # (T, N, C, n) or (T, N, ...)
            assert s.sum() > 0
            np.testing.assert_array_equal(s, want.reshape(s.shape))
    # written again in the current format, it computes the same
    again = load_model(save_model(net, tmp_path / f"{name}.h5"))
    r = (label_sweep if isinstance(net.readout, LabelSweep) else one_pass)(
        get_backend("emulator"), again, x)
    np.testing.assert_array_equal(r.predictions, expected[f"{name}/emulator/pred"])


def test_dense_ff_model_of_format_1(expected, digits, tmp_path):
    net = load_model(DATA / "ff_dense.h5")
    assert net.sizes == [74, 24, 16] and net.quantized is not None
    assert [r.kind for r in net.readouts] == ["sweep", "linear"]
    _check(net, expected, "ff_dense", digits, tmp_path)
    lin = net.get_readout("linear")
    assert isinstance(lin, LinearReadout)
    for kind in ("float", "emulator"):
        r = one_pass(get_backend(kind), net, digits.x_test[:N], readout=lin)
        np.testing.assert_array_equal(r.predictions, expected[f"ff_dense/{kind}/readout_pred"])


def test_hebbian_model_of_format_1(expected, digits, tmp_path):
    net = load_model(DATA / "hebbian.h5")
    assert net.readout.goodness == "symmetric" and net.label_embedding.kind == "code"
    _check(net, expected, "hebbian", digits, tmp_path)


def test_conv_ffgaf_model_of_format_1(expected, digits, tmp_path):
    net = load_model(DATA / "ffgaf_micro.h5")
    assert isinstance(net.readout, ClassGroups) and net.time_steps == 4
    assert [l.kind for l in net.layers] == ["conv2d"] * 3
    _check(net, expected, "ffgaf_micro", digits, tmp_path)
