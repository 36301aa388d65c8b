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
    /readouts/<i>       nodes: label_sweep | class_groups | linear_readout | spike_count |
                        membrane_readout (the first is the default)
    /dataset            attrs: name, n_features, n_classes, image_shape, ...
    /training           attrs: config_json (the full training config as JSON text)

Integrity, in three layers. The file starts with a 512-byte HDF5 user block holding a header
with the SHA-256 of every byte after it, checked before the HDF5 library parses anything (some
damaged files make that library loop forever or crash; a file whose bytes do not match is
refused without being parsed). Every dataset carries HDF5's Fletcher32 checksum, and the root
attribute ``content_sha256`` is a SHA-256 digest of the whole content (every group's path and
attributes, every dataset's dtype, shape and bytes, in sorted order), checked on load, so a
file rewritten by another HDF5 tool (which drops or keeps a stale header) is still checked: a
flipped bit anywhere is reported, not computed with. A file without a header is parsed first in
a forked child process with a time limit, so that a hang or a crash of the HDF5 library becomes
an error message. Links, external storage and virtual datasets are
refused before any data is read (a model file cannot pull in another file's bytes). Every field
is validated by its class on load; an error names the file, the part of the network and what
is wrong.

Files of format version 1 (ff-neuro 0.1.0: dense networks, and conv networks marked
``model_kind="conv_ff"``) are read too and converted on load; they carry no checksum, so only
the guarded parse and their fields' validation apply. Writes are atomic (temporary file + rename).
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import time
import warnings
from pathlib import Path
from typing import Optional

import h5py
import numpy as np

from .. import __version__
from ..fileio import PathLike, atomic_path, foreign_hdf5_data
from .encoder import AnalogConvEncoder, InputEncoding, LabelEmbedding
from .layer import Layer
from .network import Network
from .neuron import LIF, LoihiLIF
from .readout import (ClassGroups, LabelSweep, LinearReadout, MembraneReadout,
                      SpikeCountReadout)
from .synapse import Conv2d, Dense

FORMAT_NAME = "ff-neuro"
FORMAT_VERSION = 2
#: root attribute holding the content digest (format 2)
DIGEST_ATTR = "content_sha256"
#: the HDF5 user block at the start of a format-2 file: a header with the file's SHA-256
HEADER_SIZE = 512
HEADER_MAGIC = b"ff-neuro model file\nsha256:"
#: a file without a valid header is parsed first in a child process, given this long
LEGACY_PARSE_SECONDS = 60.0

#: Every class a model file holds, by the ``type`` attribute of its group.
NODE_TYPES = {cls.type_name: cls for cls in (
    Dense, Conv2d, LIF, LoihiLIF, Layer, InputEncoding, AnalogConvEncoder, LabelEmbedding,
    LabelSweep, ClassGroups, LinearReadout, SpikeCountReadout, MembraneReadout)}
_ARRAY_LIST = "array_list"

#: The fields each node of a format-2 file holds: (required, optional). The writer stores every
#: field that is not None, so a missing or an extra field is damage, not an older default.
NODE_FIELDS = {
    "dense": ({"weight", "in_shape"}, {"bias", "weight_exp"}),
    "conv2d": ({"weight", "in_shape", "stride", "padding"}, {"bias", "dilation"}),
    "lif": ({"threshold", "v_decay"}, {"i_decay", "reset", "reset_delay", "bias_in"}),
    "loihi_lif": ({"vth", "v_decay", "i_decay", "scale"}, {"reset", "reset_delay", "bias_in"}),
    "layer": ({"synapse", "neuron"}, {"recurrent"}),
    "input_encoding": ({"kind", "time_steps", "gain", "seed", "levels"}, set()),
    "analog_conv_encoder": ({"weight", "bias", "stride", "padding", "levels", "clip",
                             "in_shape", "shift", "time_steps"}, set()),
    "label_embedding": ({"kind", "n_classes", "amplitude", "code_bits", "code_p",
                         "code_seed"}, set()),
    "label_sweep": ({"goodness", "from_layer", "eps"}, set()),
    "class_groups": ({"class_groups", "n_classes", "predict_layers"}, set()),
    "linear_readout": ({"weight", "bias", "from_layer"}, set()),
    "spike_count": ({"n_classes"}, set()),
    "membrane_readout": ({"weight", "beta"}, {"bias", "weight_q", "bias_q", "v_decay_q",
                                              "scale"}),
}


class ModelFileError(ValueError):
    """The file is not a readable ff-neuro model.

    Example::

        >>> from pathlib import Path
        >>> from ff_neuro.model import ModelFileError, load_model
        >>> _ = Path("notes.h5").write_text("hello")
        >>> try:
        ...     load_model("notes.h5")
        ... except ModelFileError as exc:               # a ValueError that names the file
        ...     print(exc)
        notes.h5 is not an HDF5 file (...)
    """


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
    """An array as a dataset with a Fletcher32 checksum; integer arrays that fit are stored as
    int16."""
    a = np.asarray(a)
    if np.issubdtype(a.dtype, np.integer) and a.size and a.min() >= -2**15 and a.max() < 2**15:
        a = a.astype(np.int16)
    if a.ndim and a.size:
        group.create_dataset(name, data=a, fletcher32=True)
    else:
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


def _array(ds: h5py.Dataset) -> np.ndarray:
    """A dataset's values; only real numbers and booleans belong in a model file."""
    if ds.dtype.kind not in "biuf":
        raise ModelFileError(f"{ds.name}: holds {ds.dtype} data, not numbers")
    return ds[()]


def read_node(group: h5py.Group):
    """The inverse of :func:`write_node`; a :class:`ModelFileError` naming the group for a node
    that is missing a field or holds an invalid value."""
    attrs = _get_attrs(group)
    kind = attrs.pop("type", None)
    if kind == _ARRAY_LIST:
        names = sorted(group, key=lambda k: int(k) if str(k).isdigit() else -1)
        if names != [str(i) for i in range(len(group))]:
            raise ModelFileError(f"{group.name}: array list entries are not 0..{len(group) - 1}")
        return [_array(group[k]) for k in names]
    cls = NODE_TYPES.get(kind)
    if cls is None:
        raise ModelFileError(f"{group.name}: unknown node type {kind!r} (known: "
                             f"{', '.join(NODE_TYPES)})")
    d = dict(attrs)
    for key, item in group.items():
        d[key] = read_node(item) if isinstance(item, h5py.Group) else _array(item)
    required, optional = NODE_FIELDS.get(kind, (set(d), set()))
    missing, extra = required - set(d), set(d) - required - optional
    if missing or extra:
        raise ModelFileError(f"{group.name}: {kind} "
                             + (f"lacks {', '.join(sorted(missing))}" if missing else "")
                             + (" and " if missing and extra else "")
                             + (f"has unknown {', '.join(sorted(extra))}" if extra else ""))
    if kind == "layer" and d["synapse"].integer != isinstance(d["neuron"], LoihiLIF):
        raise ModelFileError(f"{group.name}: a {'Loihi' if d['synapse'].integer else 'float'} "
                             f"synapse (weights of {d['synapse'].weight.dtype}) with a "
                             f"{d['neuron'].type_name} neuron")
    try:
        return cls.from_dict(d)
    except ModelFileError:
        raise
    except KeyError as exc:
        raise ModelFileError(f"{group.name}: {kind} has no field {exc}") from exc
    except (ValueError, TypeError, OverflowError) as exc:
        raise ModelFileError(f"{group.name}: {exc}") from exc


def _canonical(value) -> bytes:
    """A value as read back from HDF5, in bytes that identify it (type, shape and data)."""
    if isinstance(value, bytes):
        return b"b:" + value
    if isinstance(value, str):
        return b"s:" + value.encode("utf-8")
    a = np.asarray(value)
    if a.dtype.kind in "OSU":
        return b"o:" + repr(a.tolist()).encode("utf-8")
    return f"a:{a.dtype.str}:{a.shape}:".encode() + np.ascontiguousarray(a).tobytes()


def _check_structure(f: h5py.File) -> None:
    """Refuse links (soft and external), external storage and virtual datasets before any data
    is read: a model file holds its own numbers only."""
    found = foreign_hdf5_data(f)
    if found:
        raise ModelFileError(f"{found}; a model file holds its own data only")


def content_digest(f: h5py.File) -> str:
    """SHA-256 of everything in the file but the digest itself: each group's and dataset's path
    (sorted), attributes (sorted by name) and a dataset's dtype, shape and bytes. Reading the
    datasets also checks their Fletcher32 checksums."""
    h = hashlib.sha256()

    def node(name: str, obj) -> None:
        h.update(b"\0path:" + name.encode("utf-8"))
        for key in sorted(obj.attrs):
            if obj is f and key == DIGEST_ATTR:
                continue
            h.update(b"\0attr:" + key.encode("utf-8") + b"=" + _canonical(obj.attrs[key]))
        if isinstance(obj, h5py.Dataset):
            try:
                h.update(b"\0data:" + _canonical(obj[()]))
            except OSError as exc:
                raise ModelFileError(f"{obj.name}: cannot be read, the data is damaged "
                                     f"(HDF5: {exc})") from exc

    node("/", f)
    names = []
    f.visit(names.append)
    for name in sorted(names):
        node(name, f[name])
    return h.hexdigest()


def save_model(net: Network, path: PathLike) -> Path:
    """Write ``net`` to ``path`` atomically; returns the path.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import LabelEmbedding, Layer
        >>> net = ffn.Network([Layer.dense(weight=np.full((8, 24), 0.1), threshold=1.0)],
        ...                   label_embedding=LabelEmbedding(n_classes=4))
        >>> ffn.save(net, "model.h5").name                  # ffn.save is save_model
        'model.h5'
        >>> back = ffn.load("model.h5")                      # ffn.load is load_model
        >>> back.sizes, back.n_classes, np.array_equal(back.layers[0].weight,
        ...                                            net.layers[0].weight)
        ([24, 8], 4, True)
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", userblock_size=HEADER_SIZE) as f:
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
            f.attrs[DIGEST_ATTR] = content_digest(f)
        write_header(tmp)
    return path


def _file_sha256(fh) -> str:
    h = hashlib.sha256()
    fh.seek(HEADER_SIZE)
    for block in iter(lambda: fh.read(1 << 20), b""):
        h.update(block)
    return h.hexdigest()


def write_header(path: PathLike) -> None:
    """Write the header into the user block of a file made with ``userblock_size=HEADER_SIZE``:
    the SHA-256 of every byte after it, so that a damaged file is refused before the HDF5
    library parses it."""
    with open(path, "r+b") as fh:
        digest = _file_sha256(fh).encode("ascii")
        fh.seek(0)
        fh.write((HEADER_MAGIC + digest + b"\n").ljust(HEADER_SIZE, b"\0"))


def _check_header(path: Path) -> bool:
    """True if the file's header checksum matches its bytes, False if it has no header (a file
    of format 1, or one rewritten by another HDF5 tool); a ModelFileError if it does not
    match."""
    with open(path, "rb") as fh:
        head = fh.read(HEADER_SIZE)
        if not head.startswith(HEADER_MAGIC):
            return False
        stored = head[len(HEADER_MAGIC):len(HEADER_MAGIC) + 64]
        if _file_sha256(fh).encode("ascii") != stored:
            raise ModelFileError(
                f"{path}: the file is damaged: its bytes do not match the SHA-256 checksum in "
                "its header (truncated, corrupted, or changed after ff-neuro wrote it)")
    return True


def _parse_in_child(path: Path, seconds: Optional[float] = None) -> None:
    """Parse a file without a checked header in a forked child first: the HDF5 library can loop
    forever or crash on some damaged files, and this process must do neither."""
    if not hasattr(os, "fork"):
        return
    with warnings.catch_warnings():       # fork with threads: the child only reads the file
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:       # child: only a hang or a crash matters; the parent reads the file again
        try:
            with h5py.File(path, "r") as f:
                _read(f, path)
        finally:
            os._exit(0)
    seconds = LEGACY_PARSE_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    status: Optional[int] = None
    while status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
        elif time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise ModelFileError(f"{path}: the file is damaged: the HDF5 library did not finish "
                                 f"reading it within {seconds:g} s")
        else:
            time.sleep(0.005)
    if os.WIFSIGNALED(status):
        raise ModelFileError(f"{path}: the file is damaged: reading it crashed the HDF5 "
                             f"library (signal {os.WTERMSIG(status)})")


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
    a :class:`ModelFileError` naming the file for anything else.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import (Layer, Network, SpikeCountReadout, load_model,
        ...                             save_model)
        >>> net = Network([Layer.dense(weight=np.ones((10, 64)), threshold=4.0)],
        ...               readouts=[SpikeCountReadout(n_classes=10)])
        >>> load_model(save_model(net, "model.h5")).readout.kind
        'spike-count'
        >>> from pathlib import Path
        >>> data = bytearray(Path("model.h5").read_bytes())
        >>> data[-100] ^= 1                                  # flip one bit
        >>> _ = Path("damaged.h5").write_bytes(data)
        >>> load_model("damaged.h5")
        Traceback (most recent call last):
        ...
        ff_neuro.model.io.ModelFileError: damaged.h5: the file is damaged: its bytes do not
        match the SHA-256 checksum in its header (truncated, corrupted, or changed after
        ff-neuro wrote it)
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        if not _check_header(path):
            _parse_in_child(path)
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ModelFileError(f"{path} is not an HDF5 file ({exc})") from exc
    with f:
        try:
            return _read(f, path)
        except ModelFileError as exc:
            raise ModelFileError(f"{path}: {exc}") from exc
        except KeyError as exc:
            raise ModelFileError(f"{path}: not a valid ff-neuro model (missing {exc})") from exc
        except (ValueError, TypeError, OverflowError, IndexError) as exc:
            raise ModelFileError(f"{path}: not a valid ff-neuro model ({exc})") from exc
        except (OSError, RuntimeError) as exc:   # HDF5's errors for a damaged file
            raise ModelFileError(f"{path}: the file is damaged (HDF5: {exc})") from exc


def _read(f: h5py.File, path: Path) -> Network:
    if f.attrs.get("format") != FORMAT_NAME:
        hint = (" (it looks like a NetX export; pass the ff-neuro model file)"
                if "layer" in f else "")
        raise ModelFileError(f"not an ff-neuro model file{hint}")
    version = f.attrs.get("format_version", -1)
    if not isinstance(version, (int, np.integer)) or isinstance(version, (bool, np.bool_)):
        version = -1
    if version not in (1, FORMAT_VERSION):
        shown = f.attrs.get("format_version")
        shown = shown.item() if isinstance(shown, np.generic) else shown   # numpy 2's repr
        raise ModelFileError(                                              # is np.int64(..)
            f"model format version {shown!r}; this ff-neuro reads "
            f"versions 1 and {FORMAT_VERSION}")
    _check_structure(f)
    if version == FORMAT_VERSION:
        stored = f.attrs.get(DIGEST_ATTR)
        if stored is None:
            raise ModelFileError(f"it has no checksum ({DIGEST_ATTR}): written by "
                                 "something else than ff-neuro")
        if content_digest(f) != stored:
            raise ModelFileError("it is corrupted or was changed since it was written: "
                                 f"its content does not match its checksum ({DIGEST_ATTR})")
        return _read_v2(f)
    return _read_v1(f)


# -- format version 1 (ff-neuro 0.1.0) -----------------------------------------------------------
def _v1(g: h5py.Group, name: str, kinds: str) -> np.ndarray:
    """Dataset ``name`` of a format-1 group, whose dtype must be of ``kinds`` ("f": float, "i":
    integer): format 1 stored float parameters as floats and Loihi ones as integers."""
    ds = g[name]
    if ds.dtype.kind not in kinds.replace("i", "iu"):
        raise ModelFileError(f"{ds.name}: holds {ds.dtype} data, expected "
                             f"{'floats' if kinds == 'f' else 'integers'}")
    return ds[()]


#: the attributes ff-neuro 0.1.0 wrote into every group of a format-1 file (a missing one is
#: damage, not an older default)
_V1_ATTRS = {
    "encoding": {"gain", "kind", "levels", "seed", "time_steps"},
    "label_embedding": {"amplitude", "code_bits", "code_p", "code_seed", "kind", "n_classes"},
    "inference": {"goodness", "goodness_eps", "goodness_from_layer"},
    "readout": {"from_layer"},
    "network": {"n_classes", "predict_layers", "time_steps"},
    "encoder": {"clip", "in_shape", "levels", "padding", "shift", "stride"},
    "layer": {"threshold", "v_decay"},
    "quantized": {"vth", "v_decay", "i_decay", "scale"},
    "conv": {"in_shape", "padding", "stride"},
}


def _v1_attrs(g: h5py.Group, *kinds: str) -> dict:
    a = _get_attrs(g)
    missing = set().union(*(_V1_ATTRS[k] for k in kinds)) - set(a)
    if missing:
        raise ModelFileError(f"{g.name}: lacks the attribute(s) {', '.join(sorted(missing))}")
    return a


def _v1_quantized(g: h5py.Group, conv: bool) -> Layer:
    a = _v1_attrs(g, "quantized", *(("conv",) if conv else ()))
    bias = _v1(g, "bias_mant", "i") if "bias_mant" in g else None
    weight = _v1(g, "weight", "i")
    syn = (Conv2d(weight=weight, bias=bias, in_shape=tuple(a["in_shape"]), stride=a["stride"],
                  padding=a["padding"]) if conv else Dense(weight=weight, bias=bias))
    return Layer(syn, LoihiLIF(vth=a["vth"], v_decay=a["v_decay"], i_decay=a["i_decay"],
                               scale=a["scale"]))


def _read_v1(f: h5py.File) -> Network:
    """A format-1 file as a :class:`Network` (dense FF/Hebbian or conv FFGAF)."""
    dataset = _get_attrs(f["dataset"])
    training = json.loads(f["training"].attrs["config_json"])
    quantized = None
    conv = f.attrs.get("model_kind") == "conv_ff"
    if "quantized" in f:
        quantized = [_v1_quantized(g, conv) for g in _numbered(f["quantized"])]
    if conv:
        n = _v1_attrs(f["network"], "network")
        e = _v1_attrs(f["encoder"], "encoder")
        encoder = AnalogConvEncoder(
            weight=_v1(f["encoder"], "weight", "f"), bias=_v1(f["encoder"], "bias", "f"),
            stride=e["stride"], padding=e["padding"], levels=e["levels"], clip=e["clip"],
            shift=e["shift"], in_shape=tuple(e["in_shape"]), time_steps=n["time_steps"])
        layers, groups = [], []
        for g in _numbered(f["layers"]):
            a = _v1_attrs(g, "layer", "conv")
            layers.append(Layer.conv2d(
                weight=_v1(g, "weight", "f"), bias=_v1(g, "bias", "f") if "bias" in g else None,
                threshold=a["threshold"], v_decay=a["v_decay"], stride=a["stride"],
                padding=a["padding"], in_shape=tuple(a["in_shape"])))
            groups.append(_v1(g, "class_group", "i").astype(np.int64))
        return Network(layers=layers, encoder=encoder,
                       readouts=[ClassGroups(groups, n_classes=n["n_classes"],
                                             predict_layers=tuple(n["predict_layers"]))],
                       quantized=quantized, dataset=dataset, training=training)
    layers = []
    for g in _numbered(f["layers"]):
        a = _v1_attrs(g, "layer")
        layers.append(Layer.dense(weight=_v1(g, "weight", "f"),
                                  bias=_v1(g, "bias", "f") if "bias" in g else None,
                                  threshold=a["threshold"], v_decay=a["v_decay"]))
    inf = _v1_attrs(f["inference"], "inference")
    readouts = [LabelSweep(goodness=inf["goodness"], from_layer=inf["goodness_from_layer"],
                           eps=inf["goodness_eps"])]
    if "readout" in f:
        r = f["readout"]
        readouts.append(LinearReadout(weight=_v1(r, "weight", "f"), bias=_v1(r, "bias", "f"),
                                      from_layer=_v1_attrs(r, "readout")["from_layer"]))
    return Network(layers=layers, encoder=InputEncoding(**_v1_attrs(f["encoding"], "encoding")),
                   label_embedding=LabelEmbedding(**_v1_attrs(f["label_embedding"],
                                                              "label_embedding")),
                   readouts=readouts, quantized=quantized, dataset=dataset, training=training)
