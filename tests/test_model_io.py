"""The HDF5 model file: one save/load loop for every kind, plain data, atomic writes, clear
errors."""
import h5py
import numpy as np
import pytest

from ff_neuro.model import (FORMAT_VERSION, Conv2d, Dense, InputEncoding, LabelEmbedding, LIF,
                            Layer, LinearReadout, LoihiLIF, ModelFileError, Network, load_model,
                            save_model)
from ff_neuro.model.io import NODE_TYPES, read_node, write_node
from ff_neuro.quantization import quantize

from conftest import random_net, reseal


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
        assert a.neuron == b.neuron and a.weight.dtype == b.weight.dtype == np.float32
    for a, b in zip(qnet.quantized, back.quantized):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias, b.bias)
        assert a.neuron == b.neuron and b.weight.dtype == np.int32
    assert back.encoder == qnet.encoder
    assert back.label_embedding == qnet.label_embedding
    assert back.readouts == qnet.readouts and back.readout.kind == "sweep"
    assert back.training == net.training
    assert back.dataset["image_shape"] == [4, 4]
    assert back.linear_readout is None


def test_readout_and_graded_encoding_round_trip(tmp_path):
    net = random_net(sizes=(20, 16, 8))
    net.encoder = InputEncoding(kind="graded", time_steps=5, levels=7)
    rng = np.random.default_rng(0)
    net.set_readout(LinearReadout(weight=rng.normal(size=(4, 8)), bias=rng.normal(size=4),
                                  from_layer=1))
    back = load_model(save_model(net, tmp_path / "r.h5"))
    assert [r.kind for r in back.readouts] == ["sweep", "linear"]
    ro = back.get_readout("linear")
    np.testing.assert_array_equal(ro.weight, net.linear_readout.weight)
    np.testing.assert_array_equal(ro.bias, net.linear_readout.bias)
    assert ro.from_layer == 1
    assert back.encoder == net.encoder and back.encoder.message_bits == 3
    with pytest.raises(ValueError, match="readout weight"):
        net.set_readout(LinearReadout(weight=np.zeros((4, 5)), bias=np.zeros(4)))
    with pytest.raises(ValueError, match="no class-groups readout"):
        back.get_readout("class-groups")


def test_every_node_type_round_trips(tmp_path):
    """One write/read loop over the registry: every node type comes back equal."""
    rng = np.random.default_rng(1)
    nodes = [Dense(weight=rng.normal(size=(3, 4)), bias=rng.normal(size=3)),
             Dense(weight=rng.normal(size=(5, 24)), in_shape=(2, 3, 4)),
             Conv2d(weight=rng.normal(size=(2, 3, 3, 3)), in_shape=(3, 6, 5), stride=2,
                    padding=1),
             LIF(threshold=1.5, v_decay=0.25), LoihiLIF(vth=300, v_decay=410, scale=12.5),
             InputEncoding(kind="graded", levels=15), LabelEmbedding(kind="code", code_bits=7)]
    with h5py.File(tmp_path / "n.h5", "w") as f:
        for i, n in enumerate(nodes):
            write_node(f.create_group(str(i)), n)
    with h5py.File(tmp_path / "n.h5", "r") as f:
        for i, n in enumerate(nodes):
            back = read_node(f[str(i)])
            assert type(back) is type(n)
            for k, v in n.to_dict().items():
                w = back.to_dict()[k]
                if isinstance(v, np.ndarray):
                    np.testing.assert_array_equal(v, w)
                else:
                    assert list(np.atleast_1d(v)) == list(np.atleast_1d(w)) if v is not None \
                        else w is None
    assert set(NODE_TYPES) >= {"dense", "conv2d", "lif", "loihi_lif", "layer", "input_encoding",
                               "analog_conv_encoder", "label_embedding", "label_sweep",
                               "class_groups", "linear_readout"}


def test_file_is_plain_data_without_pickle(tmp_path):
    path = save_model(random_net(), tmp_path / "m.h5")
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "ff-neuro"
        assert int(f.attrs["format_version"]) == FORMAT_VERSION == 2
        kinds = []
        f.visititems(lambda name, obj: kinds.append(obj.dtype.kind)
                     if isinstance(obj, h5py.Dataset) else None)
        assert kinds and "O" not in kinds  # no object (pickled) datasets
        assert f["layers/0/synapse/weight"].dtype == np.float32
        assert f["layers/0"].attrs["type"] == "layer"
        assert f["layers/0/neuron"].attrs["type"] == "lif"


def test_write_is_atomic(tmp_path):
    path = tmp_path / "m.h5"
    save_model(random_net(seed=1), path)
    before = path.read_bytes()

    bad = random_net(seed=2)
    bad.layers[1].synapse.weight = object()  # fails after layer 0 is already written
    with pytest.raises(TypeError):
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
    reseal(path, content=False)
    with pytest.raises(ModelFileError, match="version 99"):
        load_model(path)
    path = save_model(random_net(), tmp_path / "t.h5")
    with h5py.File(path, "a") as f:
        f["layers/0/neuron"].attrs["type"] = "hodgkin_huxley"
    reseal(path)
    with pytest.raises(ModelFileError, match="unknown node type 'hodgkin_huxley'"):
        load_model(path)


def test_layer_and_network_validation():
    with pytest.raises(ValueError, match="2-D"):
        Layer.dense(weight=np.zeros(3), threshold=1.0, v_decay=0.1)
    with pytest.raises(ValueError, match="threshold"):
        Layer.dense(weight=np.zeros((2, 3)), threshold=0.0, v_decay=0.1)
    with pytest.raises(ValueError, match="v_decay"):
        Layer.dense(weight=np.zeros((2, 3)), threshold=1.0, v_decay=1.5)
    with pytest.raises(ValueError, match="bias"):
        Layer.dense(weight=np.zeros((2, 3)), threshold=1.0, v_decay=0.1, bias=np.zeros(3))
    with pytest.raises(ValueError, match=r"\[-256, 254\]"):
        Layer.loihi(Dense(weight=np.full((2, 3), 300)), vth=10, v_decay=0)
    with pytest.raises(ValueError, match="17-bit"):
        Layer.loihi(Dense(weight=np.ones((2, 3), int)), vth=2**17, v_decay=0)
    a = Layer.dense(weight=np.ones((4, 3)), threshold=1.0, v_decay=0.1)
    b = Layer.dense(weight=np.ones((2, 5)), threshold=1.0, v_decay=0.1)
    with pytest.raises(ValueError, match="expects 5 inputs"):
        Network(layers=[a, b], label_embedding=LabelEmbedding())
    with pytest.raises(ValueError, match="needs a readout"):
        Network(layers=[a])
    with pytest.raises(ValueError, match="LoihiLIF"):
        Network(layers=[a], label_embedding=LabelEmbedding(), quantized=[a])
    conv = Layer.conv2d(weight=np.ones((2, 1, 3, 3)), threshold=1.0, in_shape=(1, 5, 5))
    with pytest.raises(ValueError, match="conv"):      # a conv layer cannot follow a dense one
        Network(layers=[Layer.dense(weight=np.ones((25, 4)), threshold=1.0), conv],
                label_embedding=LabelEmbedding())
    # a dense layer after a conv layer reads its output flattened (C, H, W)
    from ff_neuro.model import ClassGroups
    net = Network(layers=[conv, Layer.dense(weight=np.ones((3, 18)), threshold=1.0)],
                  readouts=[ClassGroups([np.arange(2), np.arange(3)], n_classes=3)])
    assert net.layers[1].in_shape == (2, 3, 3) and net.shapes[-1] == (3,)
