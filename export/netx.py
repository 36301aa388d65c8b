"""NetX HDF5 writer: files that ``lava.lib.dl.netx.hdf5.Network`` loads unchanged.

Layout (datasets only, no attributes; what ``netx.hdf5.Network`` reads)::

    /layer/0            type=b"input", shape=[n_in]        (no neuron group: no process, so
                                                          ``net.inp`` feeds the first Dense)
    /layer/<k+1>        type=b"dense", shape=[n_out], weight (n_out, n_in) int,
                        [bias (n_out,) int: bias_mant, NetX fixes bias_exp = 6],
                        neuron/{type=b"CUBA", vThMant, iDecay, vDecay, refDelay, gradedSpike}

Hand-written with h5py (about 40 lines) rather than through lava-dl's slayer ``export_hdf5``,
which needs slayer blocks; the layout is the same.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ff_neuro.fileio import PathLike, atomic_path
from ff_neuro.model.primitives import FFNetwork


def write_netx(net: FFNetwork, path: PathLike) -> Path:
    """Write the quantized layers of ``net`` as a NetX HDF5 file (atomically).

    A :class:`~ff_neuro.model.conv.ConvFFNetwork` is written by :func:`write_netx_conv`."""
    from ff_neuro.model.conv import ConvFFNetwork
    if isinstance(net, ConvFFNetwork):
        return write_netx_conv(net, path)
    if net.quantized is None:
        raise ValueError("NetX export needs a quantized model (run quantization first)")
    return _write_file(path, [net.quantized[0].n_in], net.quantized, "dense",
                       lambda q: [q.n_out])


def _write_file(path: PathLike, input_shape, layers, kind: str, out_shape,
                extra=None, flatten: bool = False) -> Path:
    """The NetX file (atomically): an input layer of ``input_shape``, then one ``kind`` layer
    per quantized layer (``out_shape(q)``, integer weights, bias, CUBA neuron; ``extra(g, q)``
    adds the kind's own datasets), then an optional ``flatten`` layer."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            layer = f.create_group("layer")
            inp = layer.create_group("0")
            inp.create_dataset("type", data=np.bytes_("input"))
            inp.create_dataset("shape", data=np.array(input_shape, dtype=np.int64))
            for k, q in enumerate(layers):
                g = layer.create_group(str(k + 1))
                g.create_dataset("type", data=np.bytes_(kind))
                g.create_dataset("shape", data=np.array(out_shape(q), dtype=np.int64))
                g.create_dataset("weight", data=q.weight.astype(np.int64))
                if extra is not None:
                    extra(g, q)
                if q.bias_mant is not None:
                    g.create_dataset("bias", data=q.bias_mant.astype(np.int64))
                _write_neuron(g, q)
            if flatten:
                g = layer.create_group(str(len(layers) + 1))
                g.create_dataset("type", data=np.bytes_("flatten"))
    return path


def _write_neuron(g: h5py.Group, q) -> None:
    n = g.create_group("neuron")
    n.create_dataset("type", data=np.bytes_("CUBA"))
    n.create_dataset("vThMant", data=np.int64(q.vth))
    n.create_dataset("iDecay", data=np.int64(q.i_decay))
    n.create_dataset("vDecay", data=np.int64(q.v_decay))
    n.create_dataset("refDelay", data=np.int64(1))
    n.create_dataset("gradedSpike", data=np.bool_(False))


def write_netx_conv(net, path: PathLike, flatten: bool = False) -> Path:
    """Write a quantized :class:`~ff_neuro.model.conv.ConvFFNetwork` as NetX ``conv`` layers.

    Layout (shapes in PyTorch's (C, H, W) order; NetX reverses them to Lava's (W, H, C))::

        /layer/0        type=b"input", shape=[C, H, W] of the encoder output (no neuron group:
                        ``net.inp`` feeds the first Conv; the host encoder's levels k arrive as
                        graded spikes, ``Network(input_message_bits=encoder.message_bits)``)
        /layer/<k+1>    type=b"conv", shape=[C_out, H_out, W_out], weight (C_out, C_in, kh, kw)
                        int (PyTorch correlation layout: NetX flips and transposes it to Lava's
                        (out, kw, kh, in) convolution kernel), stride=[s, s], padding=[p, p],
                        dilation=[1, 1], groups=1, [bias (C_out,) int: bias_mant, bias_exp 6],
                        neuron/{type=b"CUBA", vThMant, iDecay, vDecay, refDelay, gradedSpike}
        /layer/<L+1>    (``flatten=True``) type=b"flatten": marks that a following dense layer
                        reads the last conv output flattened in (C, H, W) order

    The spiking layers' spikes are the network's output; the class-group goodness is computed
    from them off chip (the host), as the encoder runs on the host.
    """
    if net.quantized is None:
        raise ValueError("NetX export needs a quantized model (run quantization first)")

    def conv_fields(g, q):
        g.create_dataset("stride", data=np.array([q.stride, q.stride], dtype=np.int64))
        g.create_dataset("padding", data=np.array([q.padding, q.padding], dtype=np.int64))
        g.create_dataset("dilation", data=np.array([1, 1], dtype=np.int64))
        g.create_dataset("groups", data=np.int64(1))

    return _write_file(path, net.encoder.out_shape, net.quantized, "conv",
                       lambda q: q.out_shape, conv_fields, flatten)
