"""Reading NetX HDF5 networks (``ff_neuro.export.netx.read_netx``): files lava-dl's SLAYER
exported (``tests/data/lavadl``, see its README) and ff-neuro's own ``write_netx`` files.

The lava-dl fixtures come with lava-dl's own per-layer spikes (``netx.hdf5.Network`` on Lava's
``fixed_pt`` CPU models, recorded by ``make_fixture.py``); the emulator must reproduce them
spike for spike."""
from pathlib import Path

import h5py
import numpy as np
import pytest

from ff_neuro.export.netx import read_netx, write_netx
from ff_neuro.model import LIF, Conv2d, Dense, Layer, Network, SpikeCountReadout
from ff_neuro.model.neuron import VTH_MAX
from ff_neuro.quantization import quantize
from ff_neuro.run import get_backend

from conftest import random_net

DATA = Path(__file__).parent / "data" / "lavadl"
CUBA, CONV, POOL = DATA / "digits_cuba.net", DATA / "digits_conv.net", DATA / "conv_pool.net"


@pytest.fixture(scope="module")
def expected():
    with np.load(DATA / "expected.npz") as f:
        return {k: f[k] for k in f.files}


def lavadl_windows(raw: np.ndarray, k: int, n: int, T: int) -> np.ndarray:
    """lava-dl's raw recording of layer ``k`` (rows = Lava time steps - 1, Lava's (W, H, C)
    layout) cut into ff-neuro's per-sample windows, ``(T, n, *shape in (C, H, W))``.

    Time alignment: ff-neuro's convention is that layer k at step t sees layer k-1's spikes of
    the same step t. In Lava the source sends sample j's step r at time step j*T + r + 1 and
    every layer's synapse (Dense / Conv) delays by one step, so layer k integrates that input
    at time step j*T + r + k + 2, and its sink (RingBuffer, row = time step - 1) holds the
    spikes in row j*T + r + k + 1. NetX (reset_interval=T, reset_offset=1) resets layer k at
    time steps = k + 2 (mod T), right before each window's step 0 reaches it, so every window
    starts from zero state, as every ff-neuro backend does per sample. Removing the shift of
    k + 1 rows gives ff-neuro's time."""
    win = raw[k + 1: k + 1 + n * T].reshape((n, T) + raw.shape[1:])
    if win.ndim == 5:                                   # conv: (W, H, C) -> (C, H, W)
        win = win.transpose(0, 1, 4, 3, 2)
    return np.moveaxis(win, 0, 1)


# -- (a) what a lava-dl file reads as ---------------------------------------------------------
def test_lavadl_dense_file_reads_as_loihi_layers_with_float_twins():
    net = read_netx(CUBA, time_steps=16)
    assert net.sizes == [64, 32, 10] and net.time_steps == 16
    assert net.readout.kind == "spike-count" and net.n_classes == 10
    assert net.training["imported_from"] == "netx"
    with h5py.File(CUBA, "r") as f:
        for k, (q, fl) in enumerate(zip(net.quantized, net.layers)):
            g = f[f"layer/{k}"]
            assert q.kind == "dense" and q.bias is None
            np.testing.assert_array_equal(q.weight, g["weight"][()].astype(np.int64))
            n = q.neuron
            assert (n.vth, n.v_decay, n.i_decay) == (80, 123, 1024)    # iDecay != 4096
            assert (n.vth, n.v_decay, n.i_decay) == tuple(
                int(g[f"neuron/{key}"][()]) for key in ("vThMant", "vDecay", "iDecay"))
            assert n.scale == 64.0
            # the float twin: SLAYER's units (integers / 64), decays / 4096
            np.testing.assert_array_equal(fl.weight, (q.weight / 64.0).astype(np.float32))
            assert fl.neuron.threshold == 1.25 and fl.neuron.v_decay == 123 / 4096
            assert fl.neuron.i_decay == 0.25
    # SLAYER writes even integers (quantize step 2/64, clamped to [-256, 254]) as float32
    w = net.quantized[0].weight
    assert np.all(w % 2 == 0) and -256 <= w.min() and w.max() <= 254


def test_lavadl_conv_file_reads_with_its_input_shape_and_flatten():
    net = read_netx(CONV, time_steps=16)
    assert net.shapes == [(1, 8, 8), (6, 8, 8), (8, 4, 4), (10,)]
    c0, c1, d = net.quantized
    assert (c0.kind, c1.kind, d.kind) == ("conv2d", "conv2d", "dense")
    assert (c0.synapse.stride, c0.synapse.padding) == (1, 1)
    assert (c1.synapse.stride, c1.synapse.padding) == (2, 1)
    assert d.in_shape == (8, 4, 4)                  # NetX's flatten: (C, H, W) order
    with h5py.File(CONV, "r") as f:
        np.testing.assert_array_equal(c1.weight, f["layer/2/weight"][()].astype(np.int64))
        np.testing.assert_array_equal(d.weight, f["layer/4/weight"][()].astype(np.int64))


# -- (b) the emulator reproduces lava-dl's spikes -----------------------------------------------
@pytest.mark.parametrize("kind,path", [("cuba", CUBA), ("conv", CONV)])
def test_emulator_reproduces_lavadl_netx_spikes_exactly(expected, kind, path):
    T = int(expected["T"])
    assert int(expected["reset_interval"]) == T and int(expected["reset_offset"]) == 1
    net = read_netx(path, time_steps=T)
    x = expected["inputs"]                          # (T, 20, 64) binary, rate-coded digits
    n = x.shape[1]
    out = get_backend("emulator").run(net, x.reshape((T, n) + net.input_shape))
    assert len(out.spikes) == len(net.quantized)
    total = 0
    for k, ours in enumerate(out.spikes):
        raw = expected[f"{kind}_layer{k}"]
        theirs = lavadl_windows(raw, k, n, T)
        assert ours.shape == theirs.shape
        mismatch = int((ours != theirs).sum())
        assert mismatch == 0, f"layer {k}: {mismatch} of {ours.size} spike values differ"
        # nothing outside the windows: no spikes before layer k's first input arrives
        assert not raw[:k + 1].any()
        total += int(theirs.sum())
    assert total > 500                              # the networks are active, not silent
    pred = net.readout.scores(out.counts()).argmax(axis=1)
    assert (pred == expected["labels"]).mean() >= 0.9


@pytest.mark.lava
@pytest.mark.parametrize("kind,path", [("cuba", CUBA), ("conv", CONV)])
def test_lava_fixed_backend_on_the_imported_network_matches_lavadl(expected, kind, path):
    """ff-neuro's lava-fixed backend rewrites the imported network with write_netx and runs it
    with NetX: the same spikes as lava-dl's own file."""
    T = int(expected["T"])
    net = read_netx(path, time_steps=T)
    x = expected["inputs"][:, :6]
    out = get_backend("lava-fixed", timeout_s=300).run(net, x.reshape((T, 6) + net.input_shape))
    for k, ours in enumerate(out.spikes):
        theirs = lavadl_windows(expected[f"{kind}_layer{k}"], k, 20, T)[:, :6]
        np.testing.assert_array_equal(ours, theirs)


# -- (c) write_netx -> read_netx ----------------------------------------------------------------
def _same_loihi_layers(a, b):
    assert len(a) == len(b)
    for qa, qb in zip(a, b):
        assert type(qa.synapse) is type(qb.synapse)
        np.testing.assert_array_equal(qa.weight, qb.weight)
        assert qa.weight.dtype.kind == qb.weight.dtype.kind == "i"
        assert (qa.bias is None) == (qb.bias is None)
        if qa.bias is not None:
            np.testing.assert_array_equal(qa.bias, qb.bias)
        for key in ("vth", "v_decay", "i_decay"):
            assert getattr(qa.neuron, key) == getattr(qb.neuron, key)
        assert qa.in_shape == qb.in_shape and qa.out_shape == qb.out_shape
        if isinstance(qa.synapse, Conv2d):
            assert (qa.synapse.stride, qa.synapse.padding) == (qb.synapse.stride,
                                                               qb.synapse.padding)


def test_write_then_read_gives_the_same_integers_dense(tmp_path):
    qnet, _ = quantize(random_net(seed=3, sizes=(24, 16, 8), bias=True))
    back = read_netx(write_netx(qnet, tmp_path / "dense.netx.h5"), time_steps=qnet.time_steps)
    _same_loihi_layers(qnet.quantized, back.quantized)
    assert back.sizes == qnet.sizes and back.readout.n_classes == 8


def test_write_then_read_gives_the_same_integers_conv(tmp_path):
    rng = np.random.default_rng(0)
    q = [Layer.loihi(Conv2d(weight=rng.integers(-256, 255, (4, 2, 3, 3)), in_shape=(2, 9, 9),
                            stride=2, padding=1, bias=rng.integers(-4096, 4096, 4)),
                     vth=300, v_decay=100, i_decay=3000, scale=50.0),
         Layer.loihi(Conv2d(weight=rng.integers(-256, 255, (3, 4, 2, 2)), in_shape=(4, 5, 5)),
                     vth=70, v_decay=4096, i_decay=0, scale=50.0),
         Layer.loihi(Dense(weight=rng.integers(-256, 255, (5, 48)), bias=rng.integers(-9, 9, 5)),
                     vth=VTH_MAX, v_decay=0, scale=50.0)]
    floats = [Layer.conv2d(weight=q[0].weight / 50.0, threshold=6.0, in_shape=(2, 9, 9),
                           stride=2, padding=1, bias=q[0].bias / 50.0),
              Layer.conv2d(weight=q[1].weight / 50.0, threshold=1.4, in_shape=(4, 5, 5)),
              Layer.dense(weight=q[2].weight / 50.0, threshold=2.0, bias=q[2].bias / 50.0)]
    net = Network(floats, readouts=[SpikeCountReadout(n_classes=5)], quantized=q)
    path = write_netx(net, tmp_path / "conv.netx.h5")
    back = read_netx(path, time_steps=8, scale=50.0)
    _same_loihi_layers(net.quantized, back.quantized)
    assert back.input_shape == (2, 9, 9) and back.quantized[2].in_shape == (3, 4, 4)
    # and once more: what we read, written and read again, is unchanged
    again = read_netx(write_netx(back, tmp_path / "again.netx.h5"), time_steps=8, scale=50.0)
    _same_loihi_layers(back.quantized, again.quantized)


def test_lavadl_file_rewritten_by_write_netx_reads_back_the_same(tmp_path):
    for path in (CUBA, CONV):
        net = read_netx(path)
        back = read_netx(write_netx(net, tmp_path / path.name))
        _same_loihi_layers(net.quantized, back.quantized)


# -- (d) malformed and unsupported files: one-line errors ----------------------------------------
def _copy(src: Path, dst: Path, edit) -> Path:
    dst.write_bytes(src.read_bytes())
    with h5py.File(dst, "r+") as f:
        edit(f)
    return dst


def _replace(f, name, value):
    del f[name]
    f[name] = value


EDITS = [
    ("graded", CUBA, lambda f: _replace(f, "layer/1/neuron/gradedSpike", True),
     "layer 1: graded spikes"),
    ("delay", CUBA, lambda f: f.create_dataset("layer/0/delay", data=np.ones(32)),
     "layer 0: dense field 'delay': synaptic delays"),
    ("sdnn", CUBA, lambda f: _replace(f, "layer/0/neuron/type", "SDNN"),
     "layer 0: neuron type 'SDNN'"),
    ("per-channel decay", CUBA, lambda f: _replace(f, "layer/1/neuron/iDecay", np.full(10, 9)),
     "layer 1: iDecay of shape (10,)"),
    ("fractional weights", CUBA,
     lambda f: _replace(f, "layer/1/weight", f["layer/1/weight"][()] + 0.5),
     "layer 1: non-integer dense weights"),
    ("large weights", CUBA,
     lambda f: _replace(f, "layer/0/weight", f["layer/0/weight"][()] * 30),
     "layer 0: dense weights in ["),
    ("no neuron", CUBA, lambda f: f.__delitem__("layer/1/neuron"), "layer 1: no neuron group"),
    ("groups", CONV, lambda f: _replace(f, "layer/1/groups", 2), "layer 1: conv groups = 2"),
    ("average", CONV, lambda f: _replace(f, "layer/3/type", np.array([b"average"])),
     "layer 3: type 'average': an averaging readout layer is not supported"),
    ("no flatten", CONV, lambda f: (f.__delitem__("layer/3"), f.move("layer/4", "layer/3")),
     "layer 3: dense layer after a conv layer: needs a flatten layer"),
    ("gap", CUBA, lambda f: f.move("layer/1", "layer/2"), "/layer must hold groups 0..1"),
    ("weight exponent", CUBA, lambda f: f.create_dataset("layer/1/neuron/wgtExp", data=2),
     "layer 1: neuron wgtExp = 2"),
    ("input transform without a neuron", CONV, lambda f: f.create_dataset("layer/0/bias",
                                                                          data=3.0),
     "layer 0: input weight/bias without a neuron"),
]


@pytest.mark.parametrize("what,src,edit,message", EDITS, ids=[e[0] for e in EDITS])
def test_unsupported_constructs_are_refused_in_one_line(tmp_path, what, src, edit, message):
    path = _copy(src, tmp_path / f"{src.stem}.net", edit)
    with pytest.raises(ValueError) as info:
        read_netx(path)
    text = str(info.value)
    assert message in text and "\n" not in text, text


def test_lavadl_pool_file_is_refused(tmp_path):
    """conv_pool.net: lava-dl exports slayer.block.cuba.Pool as type 'pool', which NetX
    cannot load either (NotImplementedError)."""
    with pytest.raises(ValueError, match=r"conv_pool\.net: layer 2: type 'pool': pooling is "
                                         r"not supported") as info:
        read_netx(POOL)
    assert "\n" not in str(info.value)


def test_malformed_files_are_refused_in_one_line(tmp_path):
    cases = []
    not_h5 = tmp_path / "text.net"
    not_h5.write_text("not a network\n")
    cases.append((not_h5, "not an HDF5 file"))
    empty = tmp_path / "empty.net"
    h5py.File(empty, "w").close()
    cases.append((empty, "not a NetX network"))
    linked = _copy(CUBA, tmp_path / "linked.net",
                   lambda f: (_replace(f, "layer/1/weight", h5py.SoftLink("/layer/0/weight"))))
    cases.append((linked, "is a SoftLink"))
    cases.append((tmp_path / "missing.net", "no such NetX file"))
    for path, message in cases:
        with pytest.raises(ValueError) as info:
            read_netx(path)
        assert message in str(info.value) and "\n" not in str(info.value), str(info.value)


def test_conv_file_without_input_layer_needs_input_shape(tmp_path):
    def drop_input(f):
        del f["layer/0"]
        for i in range(1, 5):
            f.move(f"layer/{i}", f"layer/{i - 1}")
    path = _copy(CONV, tmp_path / "noinput.net", drop_input)
    with pytest.raises(ValueError, match=r"layer 0: conv layer without an input shape: the file "
                                         r"has no input layer; pass input_shape=\(C, H, W\)"):
        read_netx(path)
    _same_loihi_layers(read_netx(path, input_shape=(1, 8, 8)).quantized,
                       read_netx(CONV).quantized)


# -- (d) per-axis convolutions, input neurons: lava-dl's PilotNet LIF ---------------------------
PILOTNET = Path(__file__).parents[1] / "benchmarks" / "data" / "pilotnet_lif" / "network.net"


def _per_axis_net(tmp_path):
    """A tiny NetX network with a per-axis stride, padding and dilation, written and read back
    (both twins: the Loihi integers and the float layers at SLAYER's scale)."""
    rng = np.random.default_rng(3)
    conv = Conv2d(weight=rng.integers(-60, 61, (3, 2, 3, 3)), in_shape=(2, 9, 11),
                  stride=(2, 1), padding=(1, 0), dilation=(1, 2),
                  bias=rng.integers(0, 30, 3))
    dense = Dense(weight=rng.integers(-40, 41, (4, int(np.prod(conv.out_shape)))),
                  in_shape=conv.out_shape)
    from ff_neuro.model import InputEncoding
    from ff_neuro.quantization import dequantize_layer
    q = [Layer.loihi(conv, vth=80, v_decay=512), Layer.loihi(dense, vth=60, v_decay=256)]
    enc = InputEncoding(time_steps=8)
    net = Network(layers=[dequantize_layer(a, enc if k == 0 else None) for k, a in enumerate(q)],
                  encoder=enc, readouts=[SpikeCountReadout(n_classes=4)], n_classes=4,
                  quantized=q)
    return read_netx(write_netx(net, tmp_path / "axes.net"), time_steps=8)


def test_per_axis_conv_round_trips_and_runs_the_same_in_float_and_emulator(tmp_path):
    from ff_neuro.run.emulator import conv_activation
    from ff_neuro.run.float_backend import synaptic_current
    import torch
    net = _per_axis_net(tmp_path)
    q = net.quantized[0]
    assert (q.synapse.stride, q.synapse.padding, q.synapse.dilation) == ((2, 1), (1, 0), (1, 2))
    assert q.out_shape == (3, 5, 7) == net.layers[0].out_shape
    x = (np.random.default_rng(0).random((8, 3, 2, 9, 11)) < 0.4).astype(np.float64)
    ours = conv_activation(q, x).numpy()
    ref = torch.nn.functional.conv2d(torch.from_numpy(x.reshape(24, 2, 9, 11)),
                                     torch.from_numpy(q.weight.astype(np.float64)), stride=(2, 1),
                                     padding=(1, 0), dilation=(1, 2)).numpy()
    np.testing.assert_array_equal(ours.reshape(ref.shape), ref)
    flt = synaptic_current(net.layers[0], net.layers[0].weight, torch.from_numpy(x), bias=False)
    np.testing.assert_allclose(flt.numpy() * 64, ours, atol=1e-9)     # SLAYER's scale
    # the model file keeps the per-axis geometry; a square conv still writes plain integers
    from ff_neuro.model import load_model, save_model
    back = load_model(save_model(net, tmp_path / "axes.h5"))
    assert back.quantized[0].synapse.stride == (2, 1)
    assert Conv2d(weight=np.ones((1, 1, 3, 3)), in_shape=(1, 5, 5),
                  stride=(2, 2)).to_dict()["stride"] == 2


@pytest.mark.lava
def test_per_axis_conv_spikes_equal_on_emulator_and_lava_fixed(tmp_path):
    net = _per_axis_net(tmp_path)
    x = (np.random.default_rng(1).random((8, 2, 2, 9, 11)) < 0.5).astype(np.uint8)
    emu = get_backend("emulator").run(net, x)
    lava = get_backend("lava-fixed", timeout_s=300).run(net, x)
    assert sum(int(s.sum()) for s in emu.spikes) > 10
    for ours, theirs in zip(emu.spikes, lava.spikes):
        np.testing.assert_array_equal(ours, theirs)


def test_pilotnet_lif_reads_with_its_input_neuron_and_per_axis_conv():
    net = read_netx(PILOTNET, time_steps=16)
    q = net.quantized
    assert len(q) == 10 and net.training["input_neuron"]
    assert net.training["input_transform"] == {"weight": 40.0, "bias": 36.0}
    assert q[0].out_shape == (3, 66, 200) and q[0].bias is None      # NetX's input neuron
    assert (q[4].synapse.stride, q[4].synapse.padding) == ((2, 1), (1, 0))
    assert q[4].out_shape == (64, 4, 22) and q[9].out_shape == (1,)
