"""The HDF5 model file: round trip, plain data, atomic writes, clear errors."""
import h5py
import numpy as np
import pytest

from ff_neuro.model import (FORMAT_VERSION, FFNetwork, ModelFileError, QuantizedDense,
                            SpikingDense, load_model, save_model)
from ff_neuro.quantization import quantize

from conftest import random_net


def test_round_trip_float_and_quantized(tmp_path):
    net = random_net(bias=True)
    net.training = {"algorithm": "ff", "config": {"hidden": [16, 8], "lr": 0.002}}
    net.dataset = {"name": "digits", "n_features": 16, "image_shape": [4, 4]}
    qnet, _ = quantize(net)
    path = save_model(qnet, tmp_path / "m.h5")
    back = load_model(path)
    for a, b in zip(qnet.layers, back.layers):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias, b.bias)
        assert (a.threshold, a.v_decay) == (b.threshold, b.v_decay)
    for a, b in zip(qnet.quantized, back.quantized):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias_mant, b.bias_mant)
        assert (a.vth, a.v_decay, a.i_decay) == (b.vth, b.v_decay, b.i_decay)
    assert back.encoding == qnet.encoding
    assert back.label_embedding == qnet.label_embedding
    assert back.training == net.training
    assert back.dataset["image_shape"] == [4, 4]
    assert back.readout is None


def test_readout_and_graded_encoding_round_trip(tmp_path):
    from ff_neuro.model import InputEncoding, LinearReadout
    net = random_net(sizes=(20, 16, 8))
    net.encoding = InputEncoding(kind="graded", time_steps=5, levels=7)
    rng = np.random.default_rng(0)
    net.readout = LinearReadout(weight=rng.normal(size=(4, 8)), bias=rng.normal(size=4),
                                from_layer=1)
    back = load_model(save_model(net, tmp_path / "r.h5"))
    np.testing.assert_array_equal(back.readout.weight, net.readout.weight)
    np.testing.assert_array_equal(back.readout.bias, net.readout.bias)
    assert back.readout.from_layer == 1
    assert back.encoding == net.encoding and back.encoding.message_bits == 3
    with pytest.raises(ValueError, match="readout weight"):
        net.readout = LinearReadout(weight=np.zeros((4, 5)), bias=np.zeros(4))
        FFNetwork(layers=net.layers, readout=net.readout,
                  label_embedding=net.label_embedding)


def test_file_is_plain_data_without_pickle(tmp_path):
    path = save_model(random_net(), tmp_path / "m.h5")
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "ff-neuro"
        assert int(f.attrs["format_version"]) == FORMAT_VERSION
        kinds = []
        f.visititems(lambda name, obj: kinds.append(obj.dtype.kind)
                     if isinstance(obj, h5py.Dataset) else None)
        assert kinds and "O" not in kinds  # no object (pickled) datasets
        assert f["layers/0/weight"].dtype == np.float32


def test_write_is_atomic(tmp_path):
    path = tmp_path / "m.h5"
    save_model(random_net(seed=1), path)
    before = path.read_bytes()

    bad = random_net(seed=2)
    bad.layers[1].weight = "not an array"  # fails after layer 0 is already written
    with pytest.raises(AttributeError):
        save_model(bad, path)
    assert path.read_bytes() == before  # the old file survived
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]  # no temp file left


def test_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(ModelFileError, match="not an HDF5"):
        load_model(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_group("layer")
    with pytest.raises(ModelFileError, match="NetX"):
        load_model(tmp_path / "other.h5")
    path = save_model(random_net(), tmp_path / "v.h5")
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(ModelFileError, match="version 99"):
        load_model(path)


def test_primitive_validation():
    with pytest.raises(ValueError, match="2-D"):
        SpikingDense(weight=np.zeros(3), threshold=1.0, v_decay=0.1)
    with pytest.raises(ValueError, match="threshold"):
        SpikingDense(weight=np.zeros((2, 3)), threshold=0.0, v_decay=0.1)
    with pytest.raises(ValueError, match="v_decay"):
        SpikingDense(weight=np.zeros((2, 3)), threshold=1.0, v_decay=1.5)
    with pytest.raises(ValueError, match="bias"):
        SpikingDense(weight=np.zeros((2, 3)), threshold=1.0, v_decay=0.1, bias=np.zeros(3))
    with pytest.raises(ValueError, match=r"\[-256, 254\]"):
        QuantizedDense(weight=np.full((2, 3), 300), vth=10, v_decay=0)
    with pytest.raises(ValueError, match="17-bit"):
        QuantizedDense(weight=np.ones((2, 3)), vth=2**17, v_decay=0)
    a = SpikingDense(weight=np.ones((4, 3)), threshold=1.0, v_decay=0.1)
    b = SpikingDense(weight=np.ones((2, 5)), threshold=1.0, v_decay=0.1)
    with pytest.raises(ValueError, match="expects 5 inputs"):
        FFNetwork(layers=[a, b])
