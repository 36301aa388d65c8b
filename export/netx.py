"""NetX HDF5 writer: files that ``lava.lib.dl.netx.hdf5.Network`` loads unchanged.

One loop over a network's Loihi layers (lava-dl's ``Network._create`` reads them the same
way). Layout (datasets only, no attributes; what ``netx.hdf5.Network`` reads)::

    /layer/0        type=b"input", shape: [n_in] when layer 0 is dense, else [C, H, W]
                    (no neuron group: no process, so ``net.inp`` feeds the first layer;
                    graded input: ``Network(input_message_bits=encoder.message_bits)``)
    /layer/<i>      type=b"dense", shape=[n_out], weight (n_out, n_in) int
                    type=b"conv", shape=[C_out, H_out, W_out], weight (C_out, C_in, kh, kw) int
                    (PyTorch correlation layout: NetX flips and transposes it to Lava's
                    (out, kw, kh, in) convolution kernel), stride, padding and dilation as
                    [y, x] pairs, groups=1
                    both: [bias (channels,) int: bias_mant, NetX fixes bias_exp = 6],
                    neuron/{type=b"CUBA", vThMant, iDecay, vDecay, refDelay, gradedSpike}
    /layer/<i>      type=b"flatten" before a dense layer that follows a conv layer: NetX then
                    connects the conv output transposed from Lava's (W, H, C) to (C, H, W) and
                    flattened, the order of the dense weight's columns (``torch.nn.Flatten``)

Shapes are written in PyTorch's (C, H, W) order; NetX reverses them to Lava's (W, H, C).
Hand-written with h5py rather than through lava-dl's slayer ``export_hdf5``, which needs slayer
blocks; the layout is the same.

:func:`read_netx` reads such files back, and the files lava-dl's SLAYER blocks write
(``block.cuba.Dense``/``Conv``/``Flatten``/``Input`` ``export_hdf5``; see
``tests/data/lavadl/README.md`` for their layout), into a :class:`Network` whose Loihi layers
compute what ``netx.hdf5.Network`` builds from the file, bit for bit.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import h5py
import numpy as np

from ff_neuro.fileio import PathLike, atomic_path, foreign_hdf5_data
from ff_neuro.model.encoder import InputEncoding
from ff_neuro.model.layer import Layer
from ff_neuro.model.network import Network
from ff_neuro.model.neuron import DECAY_UNITY, VTH_MAX
from ff_neuro.model.readout import SpikeCountReadout
from ff_neuro.model.synapse import BIAS_MAX, BIAS_MIN, WEIGHT_MAX, WEIGHT_MIN, Conv2d, Dense
from ff_neuro.quantization import dequantize_layer


def _write_neuron(g: h5py.Group, q) -> None:
    n = g.create_group("neuron")
    n.create_dataset("type", data=np.bytes_("CUBA"))
    n.create_dataset("vThMant", data=np.int64(q.neuron.vth))
    n.create_dataset("iDecay", data=np.int64(q.neuron.i_decay))
    n.create_dataset("vDecay", data=np.int64(q.neuron.v_decay))
    n.create_dataset("refDelay", data=np.int64(1))
    n.create_dataset("gradedSpike", data=np.bool_(False))


def lava_input_shape(net: Network) -> tuple:
    """Shape of the input layer NetX gets: (C, H, W) before a conv layer 0, else flat.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.export.netx import lava_input_shape
        >>> from ff_neuro.model import Layer, SpikeCountReadout
        >>> conv = ffn.Network([Layer.conv2d(weight=np.ones((4, 1, 3, 3)), threshold=1.0,
        ...                                  in_shape=(1, 8, 8)),
        ...                     Layer.dense(weight=np.ones((10, 144)), threshold=1.0)],
        ...                    readouts=[SpikeCountReadout(n_classes=10)])
        >>> lava_input_shape(conv)
        (1, 8, 8)
    """
    first = net.layers[0]
    return tuple(first.in_shape) if isinstance(first.synapse, Conv2d) else (first.n_in,)


def write_netx(net: Network, path: PathLike) -> Path:
    """Write the Loihi layers of ``net`` (``net.quantized``) as a NetX HDF5 file, atomically.

    Example::

        >>> import h5py
        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.export.netx import write_netx
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> write_netx(qnet, "model.netx.h5").name
        'model.netx.h5'

    Read back with h5py (or run it: ``lava.lib.dl.netx.hdf5.Network(net_config=path)``)::

        >>> with h5py.File("model.netx.h5", "r") as f:
        ...     print([f[f"layer/{i}/type"][()].decode() for i in range(len(f["layer"]))],
        ...           f["layer/1/weight"].shape, int(f["layer/1/neuron/vThMant"][()]))
        ['input', 'dense'] (16, 74) 130
        >>> write_netx(net, "float.netx.h5")
        Traceback (most recent call last):
        ...
        ValueError: NetX export needs a quantized model (run quantization first)
    """
    if net.quantized is None:
        raise ValueError("NetX export needs a quantized model (run quantization first)")
    for k, q in enumerate(net.quantized):
        if not q.plain:
            raise ValueError(
                f"layer {k}: NetX describes Lava's stock LIF only (reset to zero at once, one "
                "decay and threshold per layer, the bias in the membrane, no recurrent synapse "
                "or weight exponent); this layer runs as ff-neuro's own Lava neuron: export it "
                "with --format nir, or run it with ff-neuro's Lava backends")
    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            layer = f.create_group("layer")
            i = 0
            g = layer.create_group(str(i))
            g.create_dataset("type", data=np.bytes_("input"))
            shape = lava_input_shape(net)
            g.create_dataset("shape", data=np.array(shape, dtype=np.int64))
            prev_3d = len(shape) == 3
            for q in net.quantized:
                conv = isinstance(q.synapse, Conv2d)
                if not conv and prev_3d:
                    i += 1
                    layer.create_group(str(i)).create_dataset("type", data=np.bytes_("flatten"))
                i += 1
                g = layer.create_group(str(i))
                g.create_dataset("type", data=np.bytes_("conv" if conv else "dense"))
                g.create_dataset("shape", data=np.array(q.out_shape, dtype=np.int64))
                g.create_dataset("weight", data=q.weight.astype(np.int64))
                if conv:
                    syn = q.synapse                      # (y, x), as NetX reads them
                    g.create_dataset("stride", data=np.array(syn.stride_hw, dtype=np.int64))
                    g.create_dataset("padding", data=np.array(syn.padding_hw, dtype=np.int64))
                    g.create_dataset("dilation", data=np.array(syn.dilation_hw,
                                                               dtype=np.int64))
                    g.create_dataset("groups", data=np.int64(1))
                if q.bias is not None:
                    g.create_dataset("bias", data=q.bias.astype(np.int64))
                _write_neuron(g, q)
                prev_3d = conv
    return path


# -- reading -------------------------------------------------------------------------------
#: What :func:`read_netx` deploys, by NetX layer type and field, as data (the docs' support
#: table is generated from it): ``(construct, status, how)``.
NETX_SUPPORT = [
    ("input (shape only)", "exact", "the network's input shape; no process, as NetX builds it"),
    ("dense", "exact", "Dense synapse: integer weights in [-256, 254], bias mantissa"),
    ("conv", "exact", "Conv2d synapse: per-axis stride, padding and dilation, one group"),
    ("flatten", "exact", "implicit: the next dense layer reads (C, H, W) order"),
    ("CUBA neuron (vThMant, iDecay, vDecay)", "exact", "LoihiLIF: vth, i_decay, v_decay; "
     "float twins at SLAYER's scale (1/64); SLAYER's training-only fields (theta, tauRho, "
     "scaleRho, wgtExp = 0) are ignored, as NetX ignores them"),
    ("graded spikes (gradedSpike, messageBits)", "refused", "ff-neuro's layers send binary "
     "spikes"),
    ("delay", "refused", "synaptic delays (NetX's DelayDense) are not in ff-neuro's synapses"),
    ("SDNN, resonate-and-fire neurons", "refused", "not a LIF"),
    ("pool, convT, unpool, average, concat", "refused", "lava-dl's own NetX reader cannot "
     "load them either"),
    ("an input layer with a neuron", "exact for a silent input", "a layer of its own with "
     "NetX's neuron and no bias (NetX gives it none), fed through one-to-one synapses of "
     "weight 1; NetX drives that neuron only through its bias_mant Var, which an input through "
     "the synapses approximates (the neuron's current keeps 1/4096 of itself); the file's "
     "weight and bias are the caller's input transform (read_netx records them)"),
]

#: lava-dl's SLAYER computes in units of 1/64 of Loihi's integers (its neurons' ``w_scale =
#: 1 << 6``): the default scale of the float twins :func:`read_netx` makes.
SLAYER_SCALE = 64.0

#: The datasets a layer of each supported type may hold (``inFeatures``, ``outFeatures``,
#: ``inChannels``, ``outChannels`` and ``kernelSize`` are SLAYER's descriptions, which NetX
#: ignores; the weight's shape says the same).
_LAYER_FIELDS = {
    "input": {"type", "shape", "neuron", "weight", "bias"},
    "flatten": {"type", "shape"},
    "dense": {"type", "shape", "weight", "bias", "neuron", "inFeatures", "outFeatures"},
    "conv": {"type", "shape", "weight", "bias", "neuron", "stride", "padding", "dilation",
             "groups", "inChannels", "outChannels", "kernelSize"},
}
_NEURON_FIELDS = {"type", "vThMant", "iDecay", "vDecay", "refDelay", "gradedSpike"}
#: SLAYER's training-only neuron fields (the surrogate gradient's ``theta``, ``tauRho``,
#: ``scaleRho``): NetX ignores them, and so does this reader. ``wgtExp`` is ignored by NetX
#: too; only 0 is accepted (anything else would not run as trained).
_NEURON_TRAINING_FIELDS = {"theta", "tauRho", "scaleRho", "wgtExp"}

#: Layer types NetX knows that ff-neuro cannot map, and why.
_UNSUPPORTED_TYPES = {
    "pool": "pooling is not supported (lava-dl's netx.hdf5.Network cannot load it either)",
    "convT": "transposed convolution is not supported (NetX cannot load it either)",
    "unpool": "unpooling is not supported (NetX cannot load it either)",
    "average": "an averaging readout layer is not supported (NetX cannot load it either)",
    "concat": "concatenation is not supported (NetX cannot load it either)",
    "dense_rec": "a recurrent dense layer is not supported by this reader",
    "dense_comp": "a complex-valued (resonate-and-fire) dense layer is not supported",
}
#: Datasets that change what NetX computes in ways ff-neuro's layers cannot express.
_FIELD_WHY = {
    "delay": "synaptic delays (NetX builds a DelayDense) are not supported: ff-neuro's "
             "synapses have none",
    "weight_rec": "a recurrent weight is not supported by this reader",
}
#: An input layer's datasets beyond its shape (SLAYER writes them for ``block.cuba.Input``
#: with a neuron).
_INPUT_WHY: dict = {}
_NEURON_WHY = {
    "messageBits": "graded output messages are not supported: ff-neuro's layers send binary "
                   "spikes",
    "weight_exp": "a normalisation's weight exponent is not supported (NetX ignores it, so the "
                  "file does not run as trained)",
}


class _Reader:
    """One NetX file's layers, read in NetX's order (``netx.hdf5.Network._create``)."""

    def __init__(self, name: str, scale: float):
        self.name = name
        self.scale = scale
        self.i = 0

    def fail(self, construct: str, why: str):
        raise ValueError(f"{self.name}: layer {self.i}: {construct}: {why}")

    def dataset(self, g: h5py.Group, key: str) -> np.ndarray:
        if key not in g or not isinstance(g[key], h5py.Dataset):
            self.fail(f"{key!r}", "is missing (NetX needs it)")
        return np.asarray(g[key][()])

    def text(self, g: h5py.Group, key: str) -> str:
        a = self.dataset(g, key)
        if a.size != 1:
            self.fail(f"{key!r}", f"must be one string, got shape {a.shape}")
        v = a.reshape(-1)[0]
        return v.decode("ascii", "replace") if isinstance(v, bytes) else str(v)

    def integer(self, g: h5py.Group, key: str) -> int:
        a = self.dataset(g, key)
        if a.size != 1:
            self.fail(f"{key} of shape {a.shape}",
                      "per-channel values (SLAYER's shared_param=False) are not supported")
        if a.dtype.kind not in "biuf":
            self.fail(f"{key!r}", f"must be a number, got {a.dtype}")
        v = a.reshape(-1)[0]
        if a.dtype.kind == "b":
            return int(v)
        if not np.isfinite(v) or v != np.round(v):
            self.fail(f"{key} = {v}", "must be an integer")
        return int(v)

    def shape(self, g: h5py.Group) -> tuple:
        a = self.dataset(g, "shape")
        if a.ndim != 1 or not a.size or a.dtype.kind not in "iu" or (a < 1).any():
            self.fail(f"shape {a.tolist()}", "must be positive sizes")
        return tuple(int(s) for s in a)

    def pair(self, g: h5py.Group, key: str) -> tuple:
        """A conv parameter in the file's (y, x) order (NetX's ``expand``: scalar -> both)."""
        a = self.dataset(g, key)
        if a.dtype.kind not in "iu" or a.size not in (1, 2) or a.ndim > 1:
            self.fail(f"conv {key} {a.tolist()}", "must be one or two integers")
        a = a.reshape(-1)
        return (int(a[0]), int(a[-1]))

    def weights(self, g: h5py.Group, what: str) -> np.ndarray:
        if "weight" in g and isinstance(g["weight"], h5py.Group):
            self.fail(f"{what} weight/{sorted(g['weight'])}", "complex weights are not supported")
        w = self.dataset(g, "weight")
        if w.dtype.kind not in "iuf" or not w.size:
            self.fail(f"{what} weight", f"must hold numbers, got {w.dtype} {w.shape}")
        if not np.all(np.isfinite(w)) or not np.all(w == np.round(w)):
            self.fail(f"non-integer {what} weights", "NetX truncates them toward zero "
                      "(astype(int)), which is not the network the file describes")
        lo, hi = int(w.min()), int(w.max())
        if lo < WEIGHT_MIN or hi > WEIGHT_MAX:
            self.fail(f"{what} weights in [{lo}, {hi}]", f"outside Loihi's weight range "
                      f"[{WEIGHT_MIN}, {WEIGHT_MAX}] (8-bit mantissa with sign)")
        return w.astype(np.int64)

    def bias(self, g: h5py.Group, channels: int, what: str):
        if "bias" not in g:
            return None
        b = self.dataset(g, "bias")
        if b.dtype.kind not in "iuf" or not np.all(np.isfinite(b)) or \
                not np.all(b == np.round(b)):
            self.fail(f"non-integer {what} bias", "NetX truncates it toward zero (astype(int))")
        if b.size == 1 and what == "dense":
            b = np.full(channels, b.reshape(-1)[0])       # NetX: a scalar for every neuron
        if b.shape != (channels,):
            self.fail(f"{what} bias of shape {b.shape}",
                      f"ff-neuro takes one bias per output channel ({channels},)")
        if b.min() < BIAS_MIN or b.max() > BIAS_MAX:
            self.fail(f"bias in [{int(b.min())}, {int(b.max())}]", "Lava's bias_mant is a "
                      f"signed 13-bit integer [{BIAS_MIN}, {BIAS_MAX}]")
        return b.astype(np.int64)

    def neuron(self, g: h5py.Group) -> dict:
        if "neuron" not in g or not isinstance(g["neuron"], h5py.Group):
            self.fail("no neuron group", "NetX would use its default neuron, whose threshold "
                      "(2**17) is no 17-bit mantissa")
        n = g["neuron"]
        kind = self.text(n, "type")
        if kind == "SDNN":
            self.fail("neuron type 'SDNN'", "sigma-delta neurons are not supported: ff-neuro's "
                      "layers are CUBA LIF neurons")
        if "RF" in kind:
            self.fail(f"neuron type {kind!r}", "resonate-and-fire neurons are not supported")
        if kind not in ("CUBA", "LOIHI"):
            self.fail(f"neuron type {kind!r}", "unknown to NetX and ff-neuro")
        extra = sorted(set(n) - _NEURON_FIELDS - _NEURON_TRAINING_FIELDS)
        if "wgtExp" in n and self.integer(n, "wgtExp") != 0:
            self.fail(f"neuron wgtExp = {self.integer(n, 'wgtExp')}", _NEURON_WHY["weight_exp"])
        if extra:
            self.fail(f"neuron field {extra[0]!r}",
                      _NEURON_WHY.get(extra[0], "is not understood by this reader"))
        if "gradedSpike" in n and self.integer(n, "gradedSpike"):
            self.fail("graded spikes (gradedSpike = True)", "not supported: NetX reads only "
                      "messageBits and runs the neuron binary, ff-neuro's layers spike 0/1")
        if "refDelay" in n and self.integer(n, "refDelay") > 1:
            self.fail(f"refDelay = {self.integer(n, 'refDelay')}", "a refractory period is not "
                      "supported (NetX ignores it; ff-neuro's LIF has none)")
        p = {"vth": self.integer(n, "vThMant"), "v_decay": self.integer(n, "vDecay"),
             "i_decay": self.integer(n, "iDecay")}
        if not 0 <= p["vth"] <= VTH_MAX:
            self.fail(f"vThMant = {p['vth']}", f"not an unsigned 17-bit threshold (0..{VTH_MAX})")
        if p["vth"] == 0:
            self.fail("vThMant = 0", "has no float twin (a float threshold must be > 0)")
        for key, field in (("v_decay", "vDecay"), ("i_decay", "iDecay")):
            if not 0 <= p[key] <= DECAY_UNITY:
                self.fail(f"{field} = {p[key]}", f"Loihi's decays lie in [0, {DECAY_UNITY}]")
        return p

    def loihi(self, synapse, neuron: dict) -> Layer:
        try:
            return Layer.loihi(synapse, scale=self.scale, **neuron)
        except ValueError as exc:
            self.fail("layer", str(exc))

    def input_neuron(self, g: h5py.Group, shape: tuple) -> Layer:
        """NetX's input neuron (``block.cuba.Input``): a LIF per input value whose input arrives
        every step. Here a layer of its own with one-to-one synapses of weight 1 (a 1x1
        convolution for a (C, H, W) input) and no bias: NetX gives the neuron none (the file's
        ``weight`` and ``bias`` are the input transform it leaves to the caller)."""
        c = shape[0]
        if len(shape) == 3:
            syn = Conv2d(weight=np.eye(c, dtype=np.int64).reshape(c, c, 1, 1), in_shape=shape)
        else:
            syn = Dense(weight=np.eye(c, dtype=np.int64))
        return self.loihi(syn, self.neuron(g))

    def dense(self, g: h5py.Group, prev: Optional[tuple], flatten: bool,
              in_shape: Optional[tuple]) -> Layer:
        w = self.weights(g, "dense")
        n_out = int(np.prod(self.shape(g)))
        if w.ndim == 1 and w.size % n_out == 0:
            w = w.reshape(n_out, -1)                      # as NetX reshapes a flat weight
        if w.ndim != 2 or w.shape[0] != n_out:
            self.fail(f"dense weight of shape {w.shape}", f"the layer has {n_out} neurons")
        if not w.any():
            self.fail("an all-zero dense weight matrix", "NetX's optimize_weight_bits divides "
                      "by its largest weight")
        src = prev if prev is not None else in_shape
        if prev is not None and len(prev) == 3 and not flatten:
            self.fail("dense layer after a conv layer", "needs a flatten layer between them")
        if src is not None and int(np.prod(src)) != w.shape[1]:
            self.fail(f"dense weight of shape {w.shape}", f"its input has {int(np.prod(src))} "
                      f"values {src}")
        syn = Dense(weight=w, bias=self.bias(g, n_out, "dense"),
                    in_shape=prev if prev is not None and len(prev) == 3 else None)
        return self.loihi(syn, self.neuron(g))

    def conv(self, g: h5py.Group, prev: Optional[tuple], flatten: bool,
             in_shape: Optional[tuple]) -> Layer:
        w = self.weights(g, "conv")
        if w.ndim == 5 and w.shape[4] == 1:
            w = w[..., 0]                                 # SLAYER's (out, in, kh, kw, 1)
        if w.ndim != 4:
            self.fail(f"conv weight of shape {w.shape}", "must be (C_out, C_in, kh, kw)")
        src = prev if prev is not None else in_shape
        if src is None:
            self.fail("conv layer without an input shape", "the file has no input layer; pass "
                      "input_shape=(C, H, W)")
        if len(src) != 3 or flatten:
            self.fail("conv layer after a flat layer", f"its input {src} is not (C, H, W)")
        stride, padding = self.pair(g, "stride"), self.pair(g, "padding")
        dilation, groups = self.pair(g, "dilation"), self.integer(g, "groups")
        if groups != 1:
            self.fail(f"conv groups = {groups}", "grouped convolutions are not supported")
        if w.shape[1] != src[0]:
            self.fail(f"conv weight of shape {w.shape}", f"its input {src} has {src[0]} channels")
        try:
            syn = Conv2d(weight=w, in_shape=src, stride=stride, padding=padding,
                         dilation=dilation, bias=self.bias(g, w.shape[0], "conv"))
        except ValueError as exc:
            self.fail("conv layer", str(exc))
        shape = self.shape(g)
        if shape != syn.out_shape:
            self.fail(f"conv shape {shape}", f"differs from the convolution's output "
                      f"{syn.out_shape}")
        return self.loihi(syn, self.neuron(g))


def is_netx(path: PathLike) -> bool:
    """Whether ``path`` is a NetX network: an HDF5 file with a ``/layer`` group, neither a NIR
    graph (``/node``) nor an ff-neuro model file (its ``format`` attribute)."""
    import h5py
    try:
        with h5py.File(path, "r") as f:
            return "layer" in f and "node" not in f and "format" not in f.attrs
    except OSError:
        return False


def read_netx(path: PathLike, *, time_steps: int = 16, encoding: str = "rate",
              levels: int = 1, gain: float = 1.0, input_shape: Optional[tuple] = None,
              scale: float = SLAYER_SCALE) -> Network:
    """A :class:`Network` from a NetX HDF5 file: one that lava-dl's SLAYER blocks exported
    (``export_hdf5``) or that :func:`write_netx` wrote.

    Each ``dense`` / ``conv`` layer with a CUBA neuron becomes a Loihi layer in
    ``net.quantized`` (the file's integer weights and bias mantissa, ``vth = vThMant``,
    ``v_decay = vDecay``, ``i_decay = iDecay``), which the emulator and the Lava backends run
    exactly as ``netx.hdf5.Network`` runs the file (NetX's weight-bit optimisation included:
    for integer weights in [-256, 254] it is lossless). ``flatten`` is implicit (a dense layer
    after a conv layer reads its output in (C, H, W) order, as NetX does), an ``input`` layer
    gives the network's input shape (``input_shape`` does for a file without one whose first
    layer is a conv layer). The float twins in ``net.layers`` hold the same values divided by
    ``scale`` (SLAYER's units by default: integers / 64) and decays / 4096. The readout counts
    the last layer's spikes (:class:`SpikeCountReadout`); the input encoding (``encoding``,
    ``time_steps``, ``levels``, ``gain``) is not in the file. Time follows
    :mod:`ff_neuro.model.network`: NetX's one-step latency per layer is not part of the model.

    Conv layers keep their per-axis stride, padding and dilation (NetX's ``[y, x]`` pairs;
    lava-dl's PilotNet uses stride ``(2, 1)``). An input layer with a neuron (SLAYER's
    ``block.cuba.Input``, lava-dl's PilotNet) becomes a layer of its own: NetX's neuron without
    a bias, fed through one-to-one synapses of weight 1 (see ``NETX_SUPPORT``); the file's
    input ``weight`` and ``bias`` (an input transform NetX leaves to the caller) go to
    ``net.training["input_transform"]``.

    Anything NetX would run differently from these layers raises a one-line ``ValueError``
    naming the layer: graded spikes, delays, sigma-delta or resonate neurons, pooling and the
    other layer types NetX cannot load, weights that are not integers in [-256, 254], groups,
    a nonzero ``wgtExp``, unknown fields.

    Example: what :func:`write_netx` wrote comes back with the same integers::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.export.netx import read_netx, write_netx
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> back = read_netx(write_netx(qnet, "model.netx.h5"), time_steps=8)
        >>> back.sizes, back.readout.kind, back.quantized[0].neuron.vth
        ([74, 16], 'spike-count', 130)
        >>> bool(np.array_equal(back.quantized[0].weight, qnet.quantized[0].weight))
        True
    """
    from ff_neuro import checks
    from ff_neuro.model.synapse import shape_tuple

    path = Path(path)
    name = path.name
    scale = checks.positive("scale", scale)
    encoder = InputEncoding(kind=encoding, time_steps=time_steps, levels=levels, gain=gain)
    if input_shape is not None:
        input_shape = shape_tuple(input_shape, "input_shape")
        if len(input_shape) not in (1, 3):
            raise ValueError(f"input_shape must be (n,) or (C, H, W), got {input_shape}")
    if not path.is_file():
        raise ValueError(f"{path}: no such NetX file")
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise ValueError(f"{name}: not an HDF5 file (a NetX network is one)") from None
    with f:
        found = foreign_hdf5_data(f)
        if found:
            raise ValueError(f"{name}: {found}; a NetX file must hold its own data")
        if not isinstance(f.get("layer"), h5py.Group) or not len(f["layer"]):
            raise ValueError(f"{name}: not a NetX network (no /layer/0, /layer/1, ... groups)")
        top = f["layer"]
        want = {str(i) for i in range(len(top))}
        if set(top) != want:
            raise ValueError(f"{name}: /layer must hold groups 0..{len(top) - 1}, got "
                             f"{sorted(top)}")
        r = _Reader(name, scale)
        quantized: list = []
        transform = None
        in_shape, prev, flatten = input_shape, None, False
        for i in range(len(top)):
            r.i = i
            g = top[str(i)]
            if not isinstance(g, h5py.Group):
                r.fail("not a group", "each NetX layer is an HDF5 group")
            kind = r.text(g, "type")
            if kind in _UNSUPPORTED_TYPES:
                r.fail(f"type {kind!r}", _UNSUPPORTED_TYPES[kind])
            if kind not in _LAYER_FIELDS:
                r.fail(f"type {kind!r}", "is not a NetX layer type")
            extra = sorted(set(g) - _LAYER_FIELDS[kind])
            if extra:
                why = (_INPUT_WHY if kind == "input" else _FIELD_WHY).get(extra[0])
                r.fail(f"{kind} field {extra[0]!r}", why or "is not understood by this reader")
            if kind == "input":
                if i != 0:
                    r.fail("input layer", "must be layer 0")
                shape = r.shape(g)
                if len(shape) not in (1, 3):
                    r.fail(f"input shape {shape}", "must be (n,) or (C, H, W)")
                if input_shape is not None and shape != input_shape:
                    r.fail(f"input shape {shape}", f"differs from input_shape={input_shape}")
                in_shape = shape
                if "neuron" in g:
                    quantized.append(r.input_neuron(g, shape))
                    prev = shape
                    transform = {k: float(r.dataset(g, k).reshape(-1)[0])
                                 for k in ("weight", "bias") if k in g}
                elif "weight" in g or "bias" in g:
                    r.fail("input weight/bias without a neuron", "an input transform belongs "
                           "to an input neuron")
            elif kind == "flatten":
                if prev is not None and len(prev) != 3:
                    r.fail("flatten after a dense layer", "NetX flattens (W, H, C) outputs only")
                flatten = True
            else:
                make = r.dense if kind == "dense" else r.conv
                q = make(g, prev, flatten, in_shape)
                quantized.append(q)
                prev, flatten = q.out_shape, False
        if flatten:
            r.fail("flatten", "is not followed by a dense layer")
        if not quantized:
            raise ValueError(f"{name}: no dense or conv layer")
    n_classes = quantized[-1].n_out
    training = {"imported_from": "netx", "file": name}
    if transform is not None:       # lava-dl's input transform: the caller's to apply
        training["input_neuron"] = True
        training["input_transform"] = transform
    return Network(layers=[dequantize_layer(q, encoder if k == 0 else None)
                           for k, q in enumerate(quantized)], encoder=encoder,
                   readouts=[SpikeCountReadout(n_classes=n_classes)], n_classes=n_classes,
                   quantized=quantized, training=training)
