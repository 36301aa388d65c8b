"""The ff-neuro model file: one HDF5 format carries a network between every stage.

Plain data only (h5py datasets and attributes, strings as UTF-8, no pickle), readable by any
HDF5 tool. Every part of a network is a *node*: a group whose ``type`` attribute names its
class (:data:`NODE_TYPES`), its numbers and strings as attributes, its arrays as datasets, its
sub-nodes as sub-groups. One loop writes and reads them all (NIR's ``to_dict`` /
``from_dict`` with a registry). Layout, format version 2::

    /                   attrs: format="ff-neuro", format_version=2, ff_neuro_version,
                        n_classes
    /encoder            node: input_encoding | analog_conv_encoder
    /label_embedding    node (Forward-Forward networks only)
    /layers/<k>         node "layer": synapse/ (dense | conv2d: weight, [bias], in_shape,
                        stride, padding) and neuron/ (lif: threshold, v_decay)
    /quantized/<k>      (quantized networks) the same with integer weights and
                        neuron/ (loihi_lif: vth, v_decay, i_decay, scale)
    /readouts/<i>       nodes: label_sweep | class_groups | linear_readout (the first is the
                        default)
    /dataset            attrs: name, n_features, n_classes, image_shape, ...
    /training           attrs: config_json (the full training config as JSON text)

Files of format version 1 (ff-neuro 0.1.0: dense networks, and conv networks marked
``model_kind="conv_ff"``) are read too and converted on load. Writes are atomic (temporary
file + rename).
"""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from ..fileio import PathLike, atomic_path
from .encoder import AnalogConvEncoder, InputEncoding, LabelEmbedding
from .layer import Layer
from .network import Network
from .neuron import DECAY_UNITY, LIF, LoihiLIF
from .readout import ClassGroups, LabelSweep, LinearReadout
from .synapse import Conv2d, Dense

FORMAT_NAME = "ff-neuro"
FORMAT_VERSION = 2

#: Every class a model file holds, by the ``type`` attribute of its group.
NODE_TYPES = {cls.type_name: cls for cls in (
    Dense, Conv2d, LIF, LoihiLIF, Layer, InputEncoding, AnalogConvEncoder, LabelEmbedding,
    LabelSweep, ClassGroups, LinearReadout)}
_ARRAY_LIST = "array_list"


class ModelFileError(ValueError):
    """The file is not a readable ff-neuro model."""


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


def _put_attrs(group: h5py.Group, attrs: dict) -> None:
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            value = np.asarray(value)
        group.attrs[key] = value


def _dataset(group: h5py.Group, name: str, a: np.ndarray) -> None:
    """An array as a dataset; integer arrays that fit are stored as int16."""
    a = np.asarray(a)
    if np.issubdtype(a.dtype, np.integer) and a.size and a.min() >= -2**15 and a.max() < 2**15:
        a = a.astype(np.int16)
    group.create_dataset(name, data=a)


def write_node(group: h5py.Group, node) -> None:
    """Write ``node`` (a registered class) into ``group`` (see the module docstring)."""
    group.attrs["type"] = node.type_name
    for key, value in node.to_dict().items():
        if value is None:
            continue
        if hasattr(value, "type_name"):
            write_node(group.create_group(key), value)
        elif isinstance(value, np.ndarray):
            _dataset(group, key, value)
        elif isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
            sub = group.create_group(key)
            sub.attrs["type"] = _ARRAY_LIST
            for i, v in enumerate(value):
                _dataset(sub, str(i), v)
        else:
            _put_attrs(group, {key: value})


def read_node(group: h5py.Group):
    """The inverse of :func:`write_node`."""
    attrs = _get_attrs(group)
    kind = attrs.pop("type", None)
    if kind == _ARRAY_LIST:
        return [group[str(i)][()] for i in range(len(group))]
    cls = NODE_TYPES.get(kind)
    if cls is None:
        raise ModelFileError(f"{group.name}: unknown node type {kind!r} (known: "
                             f"{', '.join(NODE_TYPES)})")
    d = dict(attrs)
    for key, item in group.items():
        d[key] = read_node(item) if isinstance(item, h5py.Group) else item[()]
    return cls.from_dict(d)


def save_model(net: Network, path: PathLike) -> Path:
    """Write ``net`` to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT_NAME
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["ff_neuro_version"] = __version__
            f.attrs["n_classes"] = net.n_classes
            write_node(f.create_group("encoder"), net.encoder)
            if net.label_embedding is not None:
                write_node(f.create_group("label_embedding"), net.label_embedding)
            for name, layers in (("layers", net.layers), ("quantized", net.quantized)):
                if layers is None:
                    continue
                g = f.create_group(name)
                for k, layer in enumerate(layers):
                    write_node(g.create_group(str(k)), layer)
            g = f.create_group("readouts")
            for i, r in enumerate(net.readouts):
                write_node(g.create_group(str(i)), r)
            _put_attrs(f.create_group("dataset"), dict(net.dataset))
            f.create_group("training").attrs["config_json"] = json.dumps(net.training)
    return path


def _numbered(group: h5py.Group) -> list:
    return [group[str(k)] for k in range(len(group))]


def _read_v2(f: h5py.File) -> Network:
    quantized = None
    if "quantized" in f:
        quantized = [read_node(g) for g in _numbered(f["quantized"])]
    return Network(
        layers=[read_node(g) for g in _numbered(f["layers"])],
        encoder=read_node(f["encoder"]),
        label_embedding=read_node(f["label_embedding"]) if "label_embedding" in f else None,
        readouts=[read_node(g) for g in _numbered(f["readouts"])],
        n_classes=int(f.attrs["n_classes"]), quantized=quantized,
        dataset=_get_attrs(f["dataset"]),
        training=json.loads(f["training"].attrs["config_json"]))


def load_model(path: PathLike) -> Network:
    """Read a model written by :func:`save_model` (or by ff-neuro 0.1.0, format version 1);
    a :class:`ModelFileError` naming the file for anything else."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ModelFileError(f"{path} is not an HDF5 file ({exc})") from exc
    with f:
        if f.attrs.get("format") != FORMAT_NAME:
            hint = (" (it looks like a NetX export; pass the ff-neuro model file)"
                    if "layer" in f else "")
            raise ModelFileError(f"{path} is not an ff-neuro model file{hint}")
        version = int(f.attrs.get("format_version", -1))
        if version not in (1, FORMAT_VERSION):
            raise ModelFileError(
                f"{path} has model format version {version}; this ff-neuro reads versions 1 "
                f"and {FORMAT_VERSION}")
        try:
            return _read_v2(f) if version == FORMAT_VERSION else _read_v1(f)
        except ModelFileError as exc:
            raise ModelFileError(f"{path}: {exc}") from exc
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelFileError(f"{path}: not a valid ff-neuro model ({exc})") from exc


# -- format version 1 (ff-neuro 0.1.0) -----------------------------------------------------------
def _v1_quantized(g: h5py.Group, synapse_kw: dict, conv: bool) -> Layer:
    a = _get_attrs(g)
    bias = g["bias_mant"][()] if "bias_mant" in g else None
    weight = g["weight"][()].astype(np.int32)
    syn = (Conv2d(weight=weight, bias=bias, **synapse_kw) if conv
           else Dense(weight=weight, bias=bias))
    return Layer(syn, LoihiLIF(vth=a["vth"], v_decay=a["v_decay"],
                               i_decay=a.get("i_decay", DECAY_UNITY), scale=a["scale"]))


def _read_v1(f: h5py.File) -> Network:
    """A format-1 file as a :class:`Network` (dense FF/Hebbian or conv FFGAF)."""
    dataset = _get_attrs(f["dataset"])
    training = json.loads(f["training"].attrs["config_json"])
    quantized = None
    if f.attrs.get("model_kind") == "conv_ff":
        n = _get_attrs(f["network"])
        e = _get_attrs(f["encoder"])
        encoder = AnalogConvEncoder(
            weight=f["encoder"]["weight"][()], bias=f["encoder"]["bias"][()],
            stride=e["stride"], padding=e["padding"], levels=e["levels"], clip=e["clip"],
            shift=e.get("shift", 0.5), in_shape=tuple(e["in_shape"]), time_steps=n["time_steps"])
        layers, groups = [], []
        for g in _numbered(f["layers"]):
            a = _get_attrs(g)
            layers.append(Layer.conv2d(
                weight=g["weight"][()], bias=g["bias"][()] if "bias" in g else None,
                threshold=a["threshold"], v_decay=a["v_decay"], stride=a["stride"],
                padding=a["padding"], in_shape=tuple(a["in_shape"])))
            groups.append(g["class_group"][()].astype(np.int64))
        if "quantized" in f:
            quantized = []
            for g in _numbered(f["quantized"]):
                a = _get_attrs(g)
                quantized.append(_v1_quantized(g, dict(in_shape=tuple(a["in_shape"]),
                                                       stride=a["stride"],
                                                       padding=a["padding"]), conv=True))
        return Network(layers=layers, encoder=encoder,
                       readouts=[ClassGroups(groups, n_classes=n["n_classes"],
                                             predict_layers=tuple(n["predict_layers"]))],
                       quantized=quantized, dataset=dataset, training=training)
    layers = []
    for g in _numbered(f["layers"]):
        a = _get_attrs(g)
        layers.append(Layer.dense(weight=g["weight"][()],
                                  bias=g["bias"][()] if "bias" in g else None,
                                  threshold=a["threshold"], v_decay=a["v_decay"]))
    if "quantized" in f:
        quantized = [_v1_quantized(g, {}, conv=False) for g in _numbered(f["quantized"])]
    inf = _get_attrs(f["inference"])
    readouts = [LabelSweep(goodness=inf.get("goodness", "mean_sq"),
                           from_layer=inf["goodness_from_layer"],
                           eps=inf.get("goodness_eps", 0.01))]
    if "readout" in f:
        r = f["readout"]
        readouts.append(LinearReadout(weight=r["weight"][()], bias=r["bias"][()],
                                      from_layer=int(r.attrs["from_layer"])))
    return Network(layers=layers, encoder=InputEncoding(**_get_attrs(f["encoding"])),
                   label_embedding=LabelEmbedding(**_get_attrs(f["label_embedding"])),
                   readouts=readouts, quantized=quantized, dataset=dataset, training=training)
