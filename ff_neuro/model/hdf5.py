"""The ff-neuro model file: one HDF5 format carries a model between every stage.

Plain data only (h5py datasets and attributes, strings as UTF-8, no pickle), readable by any
HDF5 tool. Layout, format version 1::

    /                       attrs: format="ff-neuro", format_version=1, ff_neuro_version
    /encoding               attrs: kind, time_steps, gain, seed, levels
    /label_embedding        attrs: kind, n_classes, amplitude, code_bits, code_p, code_seed
    /inference              attrs: goodness_from_layer, goodness
    /dataset                attrs: name, n_features, n_classes, image_shape, ...
    /training               attrs: config_json (the full training config as JSON text)
    /layers/<k>             datasets: weight (n_out, n_in) float32, [bias (n_out,)]
                            attrs: type="spiking_dense", threshold, v_decay
    /quantized/<k>          (optional) datasets: weight int16, [bias_mant int16]
                            attrs: vth, v_decay, i_decay, scale
    /readout                (optional) datasets: weight (C, H) float64, bias (C,);
                            attrs: from_layer

A :class:`~ff_neuro.model.conv.ConvFFNetwork` is written to the same format (version 1) with
the root attribute ``model_kind="conv_ff"`` (dense files have no such attribute)::

    /                       attrs: ..., model_kind="conv_ff"
    /network                attrs: n_classes, time_steps, predict_layers
    /encoder                datasets: weight (C_out, C_in, kh, kw) float32, bias (C_out,)
                            attrs: type="analog_conv", stride, padding, levels, clip, shift,
                            in_shape
    /layers/<k>             datasets: weight (C_out, C_in, kh, kw) float32, [bias], class_group
                            (C_out,) int32; attrs: type="spiking_conv2d", threshold, v_decay,
                            stride, padding, in_shape
    /quantized/<k>          (optional) datasets: weight int16, [bias_mant int16]
                            attrs: vth, v_decay, i_decay, scale, stride, padding, in_shape
    /dataset, /training     as above

Writes are atomic (temporary file + rename).
"""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from ..fileio import PathLike, atomic_path
from .primitives import (FFNetwork, InputEncoding, LabelEmbedding, LinearReadout, QuantizedDense,
                         SpikingDense)

FORMAT_NAME = "ff-neuro"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """The file is not a readable ff-neuro model."""


def _put_attrs(group: h5py.Group, attrs: dict) -> None:
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            value = np.asarray(value)
        group.attrs[key] = value


def _put_weights(g: h5py.Group, layer) -> None:
    """A float layer's weight and optional bias (float32 datasets)."""
    g.create_dataset("weight", data=layer.weight.astype(np.float32))
    if layer.bias is not None:
        g.create_dataset("bias", data=layer.bias.astype(np.float32))


def _put_quantized(f: h5py.File, quantized, extra=lambda q: {}) -> None:
    """``/quantized/<k>``: the fields every quantized layer stores (read back by
    :func:`_quantized_fields`), plus ``extra(q)`` attributes."""
    group = f.create_group("quantized")
    for k, ql in enumerate(quantized):
        g = group.create_group(str(k))
        g.create_dataset("weight", data=ql.weight.astype(np.int16))
        if ql.bias_mant is not None:
            g.create_dataset("bias_mant", data=ql.bias_mant.astype(np.int16))
        _put_attrs(g, dict(vth=ql.vth, v_decay=ql.v_decay, i_decay=ql.i_decay, scale=ql.scale,
                           **extra(ql)))


def _quantized_fields(g: h5py.Group) -> dict:
    """The fields every quantized layer group stores (dense and conv alike)."""
    a = _get_attrs(g)
    return dict(weight=g["weight"][()].astype(np.int32),
                bias_mant=g["bias_mant"][()] if "bias_mant" in g else None,
                vth=a["vth"], v_decay=a["v_decay"], i_decay=a["i_decay"], scale=a["scale"])


def _get_attrs(group: h5py.Group) -> dict:
    out = {}
    for key, value in group.attrs.items():
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out


MODEL_KIND_CONV = "conv_ff"


def save_model(net: FFNetwork, path: PathLike) -> Path:
    """Write ``net`` (an FFNetwork or a ConvFFNetwork) to ``path`` atomically; returns the path."""
    path = Path(path)
    from .conv import ConvFFNetwork
    if isinstance(net, ConvFFNetwork):
        return _save_conv_model(net, path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT_NAME
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["ff_neuro_version"] = __version__
            enc = net.encoding
            _put_attrs(f.create_group("encoding"), dict(
                kind=enc.kind, time_steps=enc.time_steps, gain=enc.gain, seed=enc.seed,
                levels=enc.levels))
            emb = net.label_embedding
            _put_attrs(f.create_group("label_embedding"), dict(
                kind=emb.kind, n_classes=emb.n_classes, amplitude=emb.amplitude,
                code_bits=emb.code_bits, code_p=emb.code_p, code_seed=emb.code_seed))
            _put_attrs(f.create_group("inference"), dict(
                goodness_from_layer=net.goodness_from_layer, goodness=net.goodness,
                goodness_eps=net.goodness_eps))
            _put_attrs(f.create_group("dataset"), dict(net.dataset))
            f.create_group("training").attrs["config_json"] = json.dumps(net.training)
            layers = f.create_group("layers")
            for k, layer in enumerate(net.layers):
                g = layers.create_group(str(k))
                g.attrs["type"] = "spiking_dense"
                _put_weights(g, layer)
                g.attrs["threshold"] = layer.threshold
                g.attrs["v_decay"] = layer.v_decay
            if net.quantized is not None:
                _put_quantized(f, net.quantized)
            if net.readout is not None:
                r = f.create_group("readout")
                r.create_dataset("weight", data=net.readout.weight)
                r.create_dataset("bias", data=net.readout.bias)
                r.attrs["from_layer"] = net.readout.from_layer
    return path


def load_model(path: PathLike) -> FFNetwork:
    """Read a model written by :func:`save_model`; clear errors for anything else."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ModelFileError(f"{path} is not an HDF5 file ({exc})") from exc
    with f:
        if f.attrs.get("format") != FORMAT_NAME:
            hint = " (it looks like a NetX export; pass the ff-neuro model file)" if "layer" in f else ""
            raise ModelFileError(f"{path} is not an ff-neuro model file{hint}")
        version = int(f.attrs.get("format_version", -1))
        if version != FORMAT_VERSION:
            raise ModelFileError(
                f"{path} has model format version {version}; this ff-neuro reads version "
                f"{FORMAT_VERSION}")
        if f.attrs.get("model_kind") == MODEL_KIND_CONV:
            return _load_conv_model(f)
        layers = []
        for k in range(len(f["layers"])):
            g = f["layers"][str(k)]
            layers.append(SpikingDense(
                weight=g["weight"][()],
                bias=g["bias"][()] if "bias" in g else None,
                threshold=float(g.attrs["threshold"]),
                v_decay=float(g.attrs["v_decay"])))
        quantized = None
        if "quantized" in f:
            quantized = []
            for k in range(len(f["quantized"])):
                quantized.append(QuantizedDense(**_quantized_fields(f["quantized"][str(k)])))
        readout = None
        if "readout" in f:
            r = f["readout"]
            readout = LinearReadout(weight=r["weight"][()], bias=r["bias"][()],
                                    from_layer=int(r.attrs["from_layer"]))
        return FFNetwork(
            readout=readout,
            layers=layers,
            encoding=InputEncoding(**_get_attrs(f["encoding"])),
            label_embedding=LabelEmbedding(**_get_attrs(f["label_embedding"])),
            goodness_from_layer=int(f["inference"].attrs["goodness_from_layer"]),
            goodness=_get_attrs(f["inference"]).get("goodness", "mean_sq"),
            goodness_eps=float(_get_attrs(f["inference"]).get("goodness_eps", 0.01)),
            dataset=_get_attrs(f["dataset"]),
            training=json.loads(f["training"].attrs["config_json"]),
            quantized=quantized,
        )


def _save_conv_model(net, path: Path) -> Path:
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT_NAME
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["ff_neuro_version"] = __version__
            f.attrs["model_kind"] = MODEL_KIND_CONV
            _put_attrs(f.create_group("network"), dict(
                n_classes=net.n_classes, time_steps=net.time_steps,
                predict_layers=list(net.predict_layers)))
            enc = net.encoder
            g = f.create_group("encoder")
            g.create_dataset("weight", data=enc.weight.astype(np.float32))
            g.create_dataset("bias", data=enc.bias.astype(np.float32))
            _put_attrs(g, dict(type="analog_conv", stride=enc.stride, padding=enc.padding,
                               levels=enc.levels, clip=enc.clip, shift=enc.shift,
                               in_shape=list(enc.in_shape)))
            _put_attrs(f.create_group("dataset"), dict(net.dataset))
            f.create_group("training").attrs["config_json"] = json.dumps(net.training)
            layers = f.create_group("layers")
            for k, layer in enumerate(net.layers):
                g = layers.create_group(str(k))
                _put_weights(g, layer)
                g.create_dataset("class_group", data=net.class_groups[k].astype(np.int32))
                _put_attrs(g, dict(type="spiking_conv2d", threshold=layer.threshold,
                                   v_decay=layer.v_decay, stride=layer.stride,
                                   padding=layer.padding, in_shape=list(layer.in_shape)))
            if net.quantized is not None:
                _put_quantized(f, net.quantized, lambda q: dict(
                    stride=q.stride, padding=q.padding, in_shape=list(q.in_shape)))
    return path


def _load_conv_model(f: h5py.File):
    from .conv import AnalogConvEncoder, ConvFFNetwork, QuantizedConv2d, SpikingConv2d
    g = f["encoder"]
    a = _get_attrs(g)
    encoder = AnalogConvEncoder(weight=g["weight"][()], bias=g["bias"][()], stride=a["stride"],
                                padding=a["padding"], levels=a["levels"], clip=a["clip"],
                                shift=a.get("shift", 0.5), in_shape=tuple(a["in_shape"]))
    layers, groups = [], []
    for k in range(len(f["layers"])):
        g = f["layers"][str(k)]
        a = _get_attrs(g)
        layers.append(SpikingConv2d(
            weight=g["weight"][()], bias=g["bias"][()] if "bias" in g else None,
            threshold=a["threshold"], v_decay=a["v_decay"], stride=a["stride"],
            padding=a["padding"], in_shape=tuple(a["in_shape"])))
        groups.append(g["class_group"][()].astype(np.int64))
    quantized = None
    if "quantized" in f:
        quantized = []
        for k in range(len(f["quantized"])):
            g = f["quantized"][str(k)]
            a = _get_attrs(g)
            quantized.append(QuantizedConv2d(
                **_quantized_fields(g), stride=a["stride"], padding=a["padding"],
                in_shape=tuple(a["in_shape"])))
    n = _get_attrs(f["network"])
    return ConvFFNetwork(encoder=encoder, layers=layers, class_groups=groups,
                         n_classes=n["n_classes"], time_steps=n["time_steps"],
                         predict_layers=tuple(n["predict_layers"]),
                         dataset=_get_attrs(f["dataset"]),
                         training=json.loads(f["training"].attrs["config_json"]),
                         quantized=quantized)
