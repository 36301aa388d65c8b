"""NetX HDF5 writer: files that ``lava.lib.dl.netx.hdf5.Network`` loads unchanged.

One loop over a network's Loihi layers (lava-dl's ``Network._create`` reads them the same
way). Layout (datasets only, no attributes; what ``netx.hdf5.Network`` reads)::

    /layer/0        type=b"input", shape: [n_in] when layer 0 is dense, else [C, H, W]
                    (no neuron group: no process, so ``net.inp`` feeds the first layer;
                    graded input: ``Network(input_message_bits=encoder.message_bits)``)
    /layer/<i>      type=b"dense", shape=[n_out], weight (n_out, n_in) int
                    type=b"conv", shape=[C_out, H_out, W_out], weight (C_out, C_in, kh, kw) int
                    (PyTorch correlation layout: NetX flips and transposes it to Lava's
                    (out, kw, kh, in) convolution kernel), stride=[s, s], padding=[p, p],
                    dilation=[1, 1], groups=1
                    both: [bias (channels,) int: bias_mant, NetX fixes bias_exp = 6],
                    neuron/{type=b"CUBA", vThMant, iDecay, vDecay, refDelay, gradedSpike}
    /layer/<i>      type=b"flatten" before a dense layer that follows a conv layer: NetX then
                    connects the conv output transposed from Lava's (W, H, C) to (C, H, W) and
                    flattened, the order of the dense weight's columns (``torch.nn.Flatten``)

Shapes are written in PyTorch's (C, H, W) order; NetX reverses them to Lava's (W, H, C).
Hand-written with h5py rather than through lava-dl's slayer ``export_hdf5``, which needs slayer
blocks; the layout is the same.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ff_neuro.fileio import PathLike, atomic_path
from ff_neuro.model.network import Network
from ff_neuro.model.synapse import Conv2d


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
                    s, p = q.synapse.stride, q.synapse.padding
                    g.create_dataset("stride", data=np.array([s, s], dtype=np.int64))
                    g.create_dataset("padding", data=np.array([p, p], dtype=np.int64))
                    g.create_dataset("dilation", data=np.array([1, 1], dtype=np.int64))
                    g.create_dataset("groups", data=np.int64(1))
                if q.bias is not None:
                    g.create_dataset("bias", data=q.bias.astype(np.int64))
                _write_neuron(g, q)
                prev_3d = conv
    return path
