"""Fault campaign: what ff-neuro does with corrupt model files, with Lava runs that are killed,
interrupted or time out, with writes killed midway and with bad command-line input.

    python benchmarks/faults.py                       # full size: 5,000 files, 100 Lava faults
    python benchmarks/faults.py --files 600 --lava 12 --out /tmp/faults.json

Four parts, each counted in the JSON it writes (``benchmarks/results/faults.json``):

* **corrupt model files**: variants of real model files (format 1, as ff-neuro 0.1.0 wrote
  them, and format 2, the current one; dense FF, neo-Hebbian and conv FFGAF): truncation,
  flipped bytes and bits (anywhere, or inside a dataset's data), deleted datasets, groups and
  attributes, changed dtypes, shapes and values (NaN, huge), invalid JSON, links, external
  storage, virtual datasets, empty and non-HDF5 files. Format-2 variants edited through HDF5
  are also *resealed* (their checksum recomputed, as a writer that knows the format would do)
  so that the field validation behind the checksum is tried too. Each variant goes to
  ``load_model`` and to one loading command of the CLI in turn (quantize, export, evaluate,
  parity, energy, analyze, merge, learn --from), in a worker process that is restarted if it
  crashes or hangs.
* **Lava faults**: real Lava runs (``ff-neuro evaluate --backend lava-fixed``) killed with
  kill -9 (the worker, or ff-neuro itself), interrupted (SIGINT, SIGTERM), stopped by their
  time limit, or failing in a process model; before and after each, ``/dev/shm``, the run's
  temp folder and the worker's process group are compared.
* **killed writes**: a process saving a model in a loop is killed -9 at random moments; the
  file must always load and no temporary file may survive the next write.
* **bad input**: a table of bad command-line values and data sets, each refused with a non-zero
  exit and a one-line message before any long work.

A result is a *failure* when it is a traceback, a crash, a hang, a message that is not one line,
a leak, or a corrupt file accepted with changed outputs that no rule of :func:`justify`
explains. ``tests/test_faults.py`` runs the same functions at the size of the test suite.
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data" / "v1"
BASE_MODELS = ("ff_dense", "hebbian", "ffgaf_micro")

# -- corrupt model files -----------------------------------------------------------------------
BYTE_KINDS = ("truncate", "flip-bytes", "flip-data-bit", "zero-block", "empty", "garbage",
              "text", "other-hdf5")
HDF5_KINDS = ("delete-dataset", "delete-attr", "delete-group", "retype-dataset",
              "reshape-dataset", "nan-values", "huge-values", "attr-value", "rename",
              "config-json", "format-version", "soft-link", "external-link",
              "external-storage", "virtual-dataset")
KINDS = BYTE_KINDS + HDF5_KINDS
COMMANDS = ("quantize", "export", "evaluate", "parity", "energy", "analyze", "merge", "learn")


def make_bases(work: Path) -> Dict[str, Path]:
    """The clean model files the variants are made from: each fixture of format 1 and the same
    network saved in format 2; plus, per base, a distinct clean partner for ``merge``."""
    from ff_neuro.model import load_model, save_model
    work.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in BASE_MODELS:
        src = FIXTURES / f"{name}.h5"
        v1 = work / f"{name}-v1.h5"
        shutil.copyfile(src, v1)
        out[f"{name}-v1"] = v1
        net = load_model(src)
        out[f"{name}-v2"] = save_model(net, work / f"{name}-v2.h5")
        for layer in net.layers:     # a second member: the same network, slightly moved
            layer.synapse.weight = layer.synapse.weight + np.float32(1e-3)
        save_model(net, work / f"{name}-partner.h5")
    return out


def _inventory(f) -> tuple:
    import h5py
    groups, datasets, attrs = ["/"], [], [("/", k) for k in f.attrs]

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            datasets.append(name)
        else:
            groups.append(name)
        attrs.extend((name, k) for k in obj.attrs)
    f.visititems(visit)
    return groups, datasets, attrs


def _data_span(path: Path, rng) -> Optional[tuple]:
    """(offset, size) of the stored bytes of a random dataset of the file, or None."""
    import h5py
    spans = []
    with h5py.File(path, "r") as f:
        for name in _inventory(f)[1]:
            ds = f[name]
            try:
                if ds.chunks:
                    for i in range(ds.id.get_num_chunks()):
                        info = ds.id.get_chunk_info(i)
                        spans.append((info.byte_offset, info.size))
                else:
                    off = ds.id.get_offset()
                    if off is not None and ds.id.get_storage_size():
                        spans.append((off, ds.id.get_storage_size()))
            except Exception:
                continue
    return spans[rng.integers(len(spans))] if spans else None


def _byte_mutation(kind: str, path: Path, rng, work: Path) -> str:
    data = bytearray(path.read_bytes())
    if kind == "truncate":
        cut = int(rng.integers(0, len(data)))
        path.write_bytes(bytes(data[:cut]))
        return f"cut at {cut} of {len(data)} bytes"
    if kind == "flip-bytes":
        n = int(rng.integers(1, 9))
        at = rng.integers(0, len(data), n)
        for i in at:
            data[i] ^= int(rng.integers(1, 256))
        path.write_bytes(bytes(data))
        return f"{n} bytes at {sorted(int(i) for i in at)}"
    if kind == "flip-data-bit":
        span = _data_span(path, rng)
        if span is None:
            return _byte_mutation("flip-bytes", path, rng, work)
        i = span[0] + int(rng.integers(span[1]))
        data[i] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(data))
        return f"one bit at byte {i} (dataset data)"
    if kind == "zero-block":
        n = int(rng.integers(64, 513))
        at = int(rng.integers(0, max(1, len(data) - n)))
        data[at:at + n] = bytes(n)
        path.write_bytes(bytes(data))
        return f"{n} zero bytes at {at}"
    if kind == "empty":
        path.write_bytes(b"")
        return "0 bytes"
    if kind == "garbage":
        n = int(rng.integers(1, 4096))
        path.write_bytes(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
        return f"{n} random bytes"
    if kind == "text":
        texts = ['{"format": "ff-neuro", "layers": []}\n', "format: ff-neuro\nlayers: [1, 2]\n",
                 "\x89HDF\r\n\x1a\n" + "x" * 100, "ff-neuro model\n" * 20]
        t = texts[int(rng.integers(len(texts)))]
        path.write_text(t)
        return f"text {t[:20]!r}"
    if kind == "other-hdf5":
        import h5py
        with h5py.File(path, "w") as f:
            which = int(rng.integers(3))
            if which == 0:       # looks like a NetX export
                f.create_group("layer").create_group("0").create_dataset("weight",
                                                                         data=np.ones((2, 2)))
            elif which == 1:     # claims the format, holds nothing
                f.attrs["format"] = "ff-neuro"
                f.attrs["format_version"] = 2
            else:
                f.create_dataset("x", data=np.arange(10))
        return ("netx-like", "format attrs only", "unrelated")[which]
    raise ValueError(kind)


def _random_value(rng, like=None):
    choices = [np.nan, np.inf, -np.inf, -1, 0, 1e300, 2**62, -(2**62), "", "garbage",
               np.array([1, 2, 3]), True, 1e7, -1e7, 3.5]
    return choices[int(rng.integers(len(choices)))]


def _hdf5_mutation(kind: str, path: Path, rng, work: Path) -> str:
    import h5py
    with h5py.File(path, "r+") as f:
        groups, datasets, attrs = _inventory(f)
        pick = lambda seq: seq[int(rng.integers(len(seq)))]  # noqa: E731
        if kind in ("delete-dataset", "retype-dataset", "reshape-dataset", "nan-values",
                    "huge-values", "soft-link", "external-link", "external-storage",
                    "virtual-dataset") and not datasets:
            kind = "delete-attr"
        if kind == "delete-dataset":
            name = pick(datasets)
            del f[name]
            return name
        if kind == "delete-group":
            name = pick(groups[1:]) if len(groups) > 1 else None
            if name is None:
                return "nothing"
            del f[name]
            return name
        if kind == "delete-attr":
            obj, key = pick(attrs)
            del f[obj].attrs[key]
            return f"{obj}@{key}"
        if kind == "attr-value":
            obj, key = pick(attrs)
            v = _random_value(rng)
            f[obj].attrs[key] = v
            return f"{obj}@{key} = {v!r}"
        if kind in ("retype-dataset", "reshape-dataset", "nan-values", "huge-values"):
            name = pick(datasets)
            a = f[name][()]
            del f[name]
            if kind == "retype-dataset":
                options = [lambda a: np.asarray(a).astype("S8"),
                           lambda a: np.asarray(a).astype(np.complex64),
                           lambda a: np.asarray(a).astype(np.float16),
                           lambda a: np.asarray(a).astype(np.int8),
                           lambda a: np.asarray(a).astype(bool),
                           lambda a: np.asarray(a).astype(np.uint32),
                           lambda a: np.asarray(a).astype(np.float64) + 0.5]
                i = int(rng.integers(len(options)))
                f.create_dataset(name, data=options[i](a))
                return f"{name} as {f[name].dtype}"
            if kind == "reshape-dataset":
                a = np.asarray(a)
                options = [lambda a: a.T, lambda a: a.reshape(-1), lambda a: a[..., :-1],
                           lambda a: np.concatenate([a, a[:1]]) if a.ndim else a,
                           lambda a: np.asarray(a.reshape(-1)[0]) if a.size else a,
                           lambda a: a[:0], lambda a: a[None]]
                i = int(rng.integers(len(options)))
                try:
                    b = options[i](a)
                except Exception:
                    b = a.reshape(-1)
                f.create_dataset(name, data=b)
                return f"{name} {a.shape} -> {b.shape}"
            a = np.array(a, copy=True)
            if a.size == 0:
                f.create_dataset(name, data=a)
                return f"{name} (empty, unchanged)"
            flat = a.reshape(-1)
            n = int(rng.integers(1, min(4, flat.size) + 1))
            at = rng.integers(0, flat.size, n)
            if kind == "nan-values":
                if a.dtype.kind == "f":
                    flat[at] = np.nan
                else:
                    flat = flat.astype(np.float64)
                    flat[at] = np.nan
            else:
                big = [1e30, -1e30, 3e38, 1e7, -1e7]
                if a.dtype.kind == "f":
                    flat = flat.astype(np.float64)
                    flat[at] = big[int(rng.integers(len(big)))]
                else:
                    info = np.iinfo(a.dtype)
                    flat[at] = info.max if rng.random() < 0.5 else info.min
            f.create_dataset(name, data=flat.reshape(a.shape))
            return f"{name}[{sorted(int(i) for i in at)}]"
        if kind == "rename":
            name = pick(datasets + groups[1:])
            new = name.rsplit("/", 1)[0] + "/x" + name.rsplit("/", 1)[-1]
            f.move(name, new if name.count("/") else "x" + name)
            return f"{name} moved"
        if kind == "config-json":
            g = f["training"] if "training" in f else f.create_group("training")
            texts = ["{", "[]", "null", "5", '"text"', '{"config": 5}', "NaN", "{}" * 3]
            t = texts[int(rng.integers(len(texts)))]
            g.attrs["config_json"] = t
            return f"config_json = {t!r}"
        if kind == "format-version":
            v = [0, 3, "2", np.nan, -1, 2**40, 1.5][int(rng.integers(7))]
            f.attrs["format_version"] = v
            return f"format_version = {v!r}"
        name = pick(datasets)
        a = f[name][()]
        del f[name]
        if kind == "soft-link":
            others = [d for d in datasets if d != name] or [name]
            f[name] = h5py.SoftLink("/" + pick(others))
            return f"{name} -> soft link"
        if kind == "external-link":
            target = ["/etc/hostname", str(work / "outside.h5")][int(rng.integers(2))]
            if target.endswith(".h5") and not Path(target).exists():
                with h5py.File(target, "w") as g:
                    g.create_dataset("w", data=np.asarray(a))
            f[name] = h5py.ExternalLink(target, "/w")
            return f"{name} -> external link {target}"
        if kind == "external-storage":
            raw = work / "outside.bin"
            if not raw.exists():
                raw.write_bytes(os.urandom(1 << 16))
            a = np.asarray(a)
            nbytes = max(1, a.nbytes)
            target = [str(raw), "/etc/hostname"][int(rng.integers(2))]
            f.create_dataset(name, shape=a.shape, dtype=a.dtype,
                             external=[(target, 0, max(nbytes, 1))])
            return f"{name} stored in {target}"
        # virtual dataset
        src = work / "outside-vds.h5"
        a = np.asarray(a)
        with h5py.File(src, "w") as g:
            g.create_dataset("w", data=a)
        layout = h5py.VirtualLayout(shape=a.shape, dtype=a.dtype)
        layout[...] = h5py.VirtualSource(str(src), "w", shape=a.shape)
        f.create_virtual_dataset(name, layout)
        return f"{name} virtual -> {src.name}"


def reseal(path: Path) -> bool:
    """Recompute a format-2 file's checksum after an edit; False if it cannot be read."""
    import h5py
    from ff_neuro.model.io import DIGEST_ATTR, content_digest, write_header
    try:
        with h5py.File(path, "r+") as f:
            f.attrs[DIGEST_ATTR] = content_digest(f)
            has_header = f.userblock_size > 0
        if has_header:
            write_header(path)
        return True
    except Exception:
        return False


def make_variant(bases: Dict[str, Path], seed: int, index: int, work: Path) -> dict:
    """Variant ``index`` of the campaign seeded ``seed``: a corrupt copy of one base file."""
    rng = np.random.default_rng([seed, index])
    names = sorted(bases)
    base = names[int(rng.integers(len(names)))]
    kind = KINDS[int(rng.integers(len(KINDS)))]
    path = work / f"v{index}.h5"
    shutil.copyfile(bases[base], path)
    fn = _byte_mutation if kind in BYTE_KINDS else _hdf5_mutation
    detail = fn(kind, path, rng, work)
    resealed = (base.endswith("-v2") and kind in HDF5_KINDS and rng.random() < 0.5
                and reseal(path))
    return {"index": index, "base": base, "kind": kind, "detail": detail,
            "resealed": bool(resealed), "path": str(path)}


def _fingerprint(net, work: Path, records: bool = True) -> str:
    """A digest of the network (``records=False``: of its computing parts only, without the
    dataset and training records)."""
    import dataclasses
    import h5py
    from ff_neuro.model import save_model
    from ff_neuro.model.io import content_digest
    if not records:
        net = dataclasses.replace(net, dataset={}, training={})
    p = save_model(net, work / "fingerprint.h5")
    with h5py.File(p, "r") as f:
        return content_digest(f)


def _outputs(net, x) -> list:
    """What the network computes on ``x``: every readout's scores (float backend) and, for a
    quantized network, the emulator's."""
    from ff_neuro.run import get_backend
    from ff_neuro.run.inference import infer
    out = []
    backends = ["float"] + (["emulator"] if net.quantized is not None else [])
    for b in backends:
        for r in net.readouts:
            res = infer(get_backend(b), net, x, readout=r)
            out.append(np.asarray(res.scores, dtype=np.float64))
    return out


class Reference:
    """The clean networks and what they compute, to tell a harmless acceptance from one that
    changed the model."""

    def __init__(self, bases: Dict[str, Path], work: Path, n_samples: int = 12):
        from ff_neuro.data import load_digits
        from ff_neuro.model import load_model
        self.work = work
        self.x = load_digits().x_test[:n_samples]
        self.fp, self.fp_parts, self.out = {}, {}, {}
        for name, path in bases.items():
            net = load_model(path)
            self.fp[name] = _fingerprint(net, work)
            self.fp_parts[name] = _fingerprint(net, work, records=False)
            self.out[name] = _outputs(net, self.x)


def judge_api(v: dict, ref: Reference) -> dict:
    """``load_model`` on a variant: refused (one line naming the file), or accepted and then
    compared with the clean network."""
    from ff_neuro.model import ModelFileError, load_model
    path = v["path"]
    try:
        net = load_model(path)
    except (ModelFileError, FileNotFoundError) as exc:
        msg = str(exc)
        ok = "\n" not in msg and path in msg
        return {"api": "refused" if ok else "bad-message", "message": msg[:300]}
    except Exception as exc:   # noqa: BLE001 (what the campaign counts)
        return {"api": "traceback", "message": f"{type(exc).__name__}: {exc}"[:300]}
    try:
        if _fingerprint(net, ref.work) == ref.fp[v["base"]]:
            return {"api": "accepted-identical"}
        records_only = _fingerprint(net, ref.work, records=False) == ref.fp_parts[v["base"]]
        out = _outputs(net, ref.x)
    except Exception as exc:   # noqa: BLE001
        return {"api": "traceback", "message": f"after loading: {type(exc).__name__}: {exc}"[:300]}
    same = (len(out) == len(ref.out[v["base"]])
            and all(a.shape == b.shape and np.array_equal(a, b)
                    for a, b in zip(out, ref.out[v["base"]])))
    finite = all(np.all(np.isfinite(a)) for a in out)
    if not finite:
        return {"api": "accepted-nonfinite"}
    if records_only:
        return {"api": "accepted-records" if same else "changed-outputs-from-records"}
    return {"api": "accepted-changed", "same_outputs": same}


def justify(row: dict) -> Optional[str]:
    """Why an accepted corrupt file is harmless; None: it is not (a failure)."""
    api = row.get("api")
    if api == "accepted-identical":
        return ("the changed bytes hold no model content (unused space, or a change HDF5 "
                "undoes); the network loaded is the clean one")
    if api == "accepted-records":
        return ("only a record changed (the training record or the dataset's description); "
                "the network computes exactly what the clean one does")
    if api == "accepted-changed":
        if row["base"].endswith("-v1") and row["kind"] in BYTE_KINDS:
            return ("format 1 (ff-neuro 0.1.0) has no checksum: a flipped bit inside the "
                    "weights gives other valid weights, which no reader can tell from the "
                    "written ones; every file ff-neuro writes now carries checksums")
        if row["resealed"] or row["base"].endswith("-v1"):
            return ("an edit through HDF5 (resealed with a valid checksum, or of a format-1 "
                    "file, which has none) that leaves every value valid: a different model, "
                    "which the loader cannot tell from a deliberate one")
    return None


def run_cli(args: List[str], keep_output: bool = False) -> dict:
    """One CLI command in-process; 'ok' (exit 0), 'refused' (non-zero exit, one 'Error:' line
    last), or a failure: 'traceback' or 'bad-message' (``keep_output``: with what it printed
    under "output")."""
    from click.testing import CliRunner
    from ff_neuro.cli import main
    res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)
    out = res.output
    r = _classify(res, out)
    if keep_output:
        r["output"] = out
    return r


def _classify(res, out: str) -> dict:
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        return {"cli": "traceback",
                "message": f"{type(res.exception).__name__}: {res.exception}"[:300]}
    if "Traceback (most recent call last)" in out:
        return {"cli": "traceback", "message": out[-300:]}
    if res.exit_code == 0:
        return {"cli": "ok"}
    lines = [l for l in out.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("Error:")]
    if len(errors) == 1 and lines and lines[-1].startswith("Error:"):
        return {"cli": "refused", "message": errors[0][:300]}
    return {"cli": "bad-message", "message": out[-300:]}


def cli_args(command: str, model: str, partner: str, out: Path) -> List[str]:
    return {
        "quantize": ["quantize", model, "--out", out / "q.h5"],
        "export": ["export", model, "--out", out / "netx.h5"],
        "evaluate": ["evaluate", model, "--backend", "float", "--samples", "20"],
        "parity": ["parity", model, "--backends", "float,emulator", "--samples", "8"],
        "energy": ["energy", model, "--samples", "8"],
        "analyze": ["analyze", model, "--samples", "20", "--tsne", out / "tsne.png"],
        "merge": ["merge", model, partner, "--out", out / "merged.h5"],
        "learn": ["learn", "--from", model, "--samples", "10", "--eval-samples", "10",
                  "--every", "10", "--timeout", "120", "--out", out / "learn"],
    }[command]


def judge_variant(bases, ref, seed, index, work, commands=COMMANDS) -> dict:
    v = make_variant(bases, seed, index, work)
    row = {**v, **judge_api(v, ref)}
    command = commands[index % len(commands)]
    row["command"] = command
    # learn's Lava run on a file that loads as the clean network is the clean run: skipped
    if command == "learn" and row["api"] in ("accepted-identical", "accepted-records"):
        row["cli"] = "skipped"
    else:
        out = work / f"out{index}"
        out.mkdir(exist_ok=True)
        partner = str(bases[v["base"]]).replace(v["base"], v["base"].rsplit("-", 1)[0]
                                                + "-partner")
        row.update(run_cli(cli_args(command, v["path"], partner, out)))
        shutil.rmtree(out, ignore_errors=True)
    row["justified"] = justify(row)
    with contextlib.suppress(OSError):
        os.unlink(v["path"])
    return row


def _file_worker(job_path: str) -> None:
    """Worker process: judge the job's variants in order, one JSON line each."""
    with contextlib.suppress(ImportError):
        import lava.magma.core.process.process  # noqa: F401 (fork start method first)
    job = json.loads(Path(job_path).read_text())
    work = Path(job["work"])
    bases = {k: Path(v) for k, v in job["bases"].items()}
    ref = Reference(bases, work)
    with open(job["results"], "a") as fh:
        for i in range(job["start"], job["stop"]):
            fh.write(json.dumps({"index": i, "started": True}) + "\n")
            fh.flush()
            row = judge_variant(bases, ref, job["seed"], i, work, tuple(job["commands"]))
            row.pop("path", None)
            fh.write(json.dumps(row) + "\n")
            fh.flush()


def _read_rows(path: Path) -> tuple:
    done, started = {}, None
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if r.get("started"):
                started = r["index"]
            else:
                done[r["index"]] = r
    return done, started


def file_campaign(n: int, seed: int, work: Path, commands=COMMANDS, hang_s: float = 300.0,
                  progress: Optional[Callable[[int, int], None]] = None) -> dict:
    """Judge ``n`` corrupt variants in a worker process (restarted after a crash or a hang);
    returns the rows and their counts."""
    work.mkdir(parents=True, exist_ok=True)
    bases = make_bases(work / "bases")
    results = work / "rows.jsonl"
    results.unlink(missing_ok=True)
    env = {**os.environ, "FF_NEURO_LOG_DIR": str(work / "logs")}
    start, failures = 0, {}
    while start < n:
        job = work / "job.json"
        job.write_text(json.dumps({"work": str(work), "bases": {k: str(p) for k, p in
                                                                bases.items()},
                                   "seed": seed, "start": start, "stop": n,
                                   "results": str(results), "commands": list(commands)}))
        proc = subprocess.Popen([sys.executable, __file__, "--file-worker", str(job)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True, env=env, text=True)
        last, t_last, hung = -1, time.monotonic(), False
        while proc.poll() is None:
            time.sleep(0.2)
            done, _ = _read_rows(results)
            if len(done) != last:
                last, t_last = len(done), time.monotonic()
                if progress:
                    progress(len(done), n)
            elif time.monotonic() - t_last > hang_s:
                hung = True
                break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)      # the worker and anything it started
        proc.wait()
        err = proc.stderr.read()
        done, started = _read_rows(results)
        if proc.returncode == 0 and not hung:
            break
        if started is None or started in done:      # died outside a variant: give up
            raise RuntimeError(f"the file worker failed: {err[-2000:]}")
        failures[started] = (("hang", f"no result within {hang_s:g} s") if hung else
                             ("crash", f"worker exit {proc.returncode}: {err[-300:]}"))
        start = started + 1
    done, _ = _read_rows(results)
    rows = [done[i] for i in sorted(done)]
    for i, (what, msg) in sorted(failures.items()):
        rows.append({"index": i, "api": what, "cli": what, "message": msg, "justified": None})
    return summarize_files(rows, seed)


FAILING = ("traceback", "bad-message", "crash", "hang", "accepted-nonfinite",
           "changed-outputs-from-records")


def summarize_files(rows: List[dict], seed: int) -> dict:
    api = Counter(r["api"] for r in rows)
    cli = Counter(r.get("cli", "none") for r in rows)
    by_command = {}
    for r in rows:
        c = by_command.setdefault(r.get("command", "?"), Counter())
        c[r.get("cli", "none")] += 1
    accepted = [r for r in rows if str(r["api"]).startswith("accepted")]
    unjustified = [r for r in accepted if r["api"] not in FAILING and not r.get("justified")]
    failures = [r for r in rows if r["api"] in FAILING or r.get("cli") in FAILING]
    groups = Counter((r["api"], r["base"][-2:], r["kind"], bool(r["resealed"]))
                     for r in accepted)
    return {
        "seed": seed, "variants": len(rows),
        "api": dict(api), "cli": dict(cli),
        "cli_by_command": {k: dict(v) for k, v in sorted(by_command.items())},
        "by_kind": {k: dict(Counter(r["api"] for r in rows if r.get("kind") == k))
                    for k in KINDS},
        "accepted": [{"outcome": a, "format": f, "kind": k, "resealed": s, "count": n,
                      "why_harmless": justify({"api": a, "base": "x-" + f, "kind": k,
                                               "resealed": s})}
                     for (a, f, k, s), n in sorted(groups.items())],
        "unjustified": unjustified[:50], "failures": failures[:50],
        "n_failures": len(failures) + len(unjustified),
    }


# -- Lava faults --------------------------------------------------------------------------------
LAVA_KINDS = ("kill-worker", "sigint", "sigterm", "kill-parent", "timeout", "model-failure")


def _shm() -> set:
    return set(glob.glob("/dev/shm/*"))


def _pids() -> Dict[int, tuple]:
    """pid -> (ppid, pgid, command line) of every process."""
    out = {}
    for d in glob.glob("/proc/[0-9]*"):
        try:
            stat = Path(d, "stat").read_text()
            cmd = Path(d, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(d[6:])] = (int(fields[1]), int(fields[2]), cmd)
    return out


def _worker_of(parent: int) -> Optional[int]:
    for pid, (ppid, pgid, cmd) in _pids().items():
        if ppid == parent and "ff_neuro.run.lava.worker" in cmd:
            return pid
    return None


def _group(pgid: int) -> List[int]:
    return [p for p, (_, g, _) in _pids().items() if g == pgid]


def make_lava_model(work: Path) -> Path:
    """The quantized dense FF fixture in format 2 (the network ``evaluate`` runs on Lava)."""
    from ff_neuro.model import load_model, save_model
    return save_model(load_model(FIXTURES / "ff_dense.h5"), work / "lava-model.h5")


def _failure_child(model: str, fail_at: int) -> None:
    """A Lava run whose process model raises at step ``fail_at`` (the library's own failure
    probe), as the API user meets it."""
    from ff_neuro.export.netx import write_netx
    from ff_neuro.model import load_model
    from ff_neuro.run.lava.backend import run_netx_windows
    from ff_neuro.run.lava import LavaRunError
    net = load_model(model)
    work = Path(tempfile.mkdtemp(prefix="fault-"))
    path = write_netx(net, work / "n.h5")
    x = (np.random.default_rng(0).random((400, 8, net.quantized[0].n_in)) < 0.3
         ).astype(np.uint8)
    try:
        run_netx_windows(str(path), x, [l.n_out for l in net.quantized], timeout_s=120,
                         inject_failure_at=fail_at, stop_grace_s=5)
    except LavaRunError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def lava_fault(kind: str, model: Path, work: Path, rng, settle_s: float = 15.0) -> dict:
    """One real Lava run with one fault; what it left behind and what it printed."""
    tmp = Path(tempfile.mkdtemp(prefix="tmpdir-", dir=work))
    env = {**os.environ, "TMPDIR": str(tmp), "FF_NEURO_LOG_DIR": str(work / "logs"),
           "PYTHONUNBUFFERED": "1"}
    if kind == "model-failure":
        cmd = [sys.executable, __file__, "--failure-child", str(model),
               str(int(rng.integers(2, 200)))]
    else:
        cmd = [sys.executable, "-m", "ff_neuro.cli", "evaluate", str(model), "--backend",
               "lava-fixed", "--timeout", "8" if kind == "timeout" else "300"]
    shm0 = _shm()
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            text=True)
    row = {"kind": kind}
    worker = None
    while time.monotonic() - t0 < 120 and proc.poll() is None and worker is None:
        worker = _worker_of(proc.pid)
        time.sleep(0.05)
    row["worker_seen"] = worker is not None
    phase = "running" if rng.random() < 0.7 else "starting"
    if worker is not None and kind in ("kill-worker", "sigint", "sigterm", "kill-parent"):
        if phase == "running":      # Lava's runtime is up: its segments exist
            while time.monotonic() - t0 < 120 and proc.poll() is None and \
                    not (_shm() - shm0):
                time.sleep(0.05)
        time.sleep(float(rng.uniform(0.0, 2.0)))
        row["fault_at_s"] = round(time.monotonic() - t0, 2)
        row["phase"] = phase
        target, sig = {"kill-worker": (worker, signal.SIGKILL),
                       "sigint": (proc.pid, signal.SIGINT),
                       "sigterm": (proc.pid, signal.SIGTERM),
                       "kill-parent": (proc.pid, signal.SIGKILL)}[kind]
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, sig)
    try:
        out, err = proc.communicate(timeout=150)
        row["hang"] = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        row["hang"] = True
    row["exit"] = proc.returncode
    row["seconds"] = round(time.monotonic() - t0, 2)
    # leftovers: give a dying group (the watchdog after kill -9 of the parent) time to go
    deadline = time.monotonic() + settle_s
    while True:
        procs = _group(worker) if worker else []
        shm = sorted(_shm() - shm0)
        tmp_left = sorted(os.listdir(tmp))
        if not (procs or shm or tmp_left) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    row.update(procs_left=len(procs), shm_left=len(shm), tmp_left=tmp_left[:5])
    lines = [l for l in err.splitlines() if l.strip()]
    row["message"] = lines[-1][:300] if lines else ""
    row["traceback"] = "Traceback (most recent call last)" in err
    if kind == "kill-parent":
        row["message_ok"] = True        # nothing can print: the process is gone
    else:
        row["message_ok"] = (not row["traceback"] and proc.returncode != 0 and bool(lines)
                             and (lines[-1].startswith("Error:") or lines[-1] == "Aborted!")
                             and sum(l.startswith("Error:") for l in lines) <= 1)
    if kind == "timeout":
        row["message_ok"] &= "--timeout" in row["message"]
    # clean up whatever a failure left, so that the next trial starts clean
    for p in procs:
        with contextlib.suppress(OSError):
            os.kill(p, signal.SIGKILL)
    for s in shm:
        with contextlib.suppress(OSError):
            os.unlink(s)
    shutil.rmtree(tmp, ignore_errors=True)
    row["ok"] = (not row["hang"] and row["procs_left"] == 0 and row["shm_left"] == 0
                 and not row["tmp_left"] and row["message_ok"])
    return row


def lava_campaign(n: int, seed: int, work: Path,
                  progress: Optional[Callable[[int, int], None]] = None) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    model = make_lava_model(work)
    rng = np.random.default_rng([seed, 99])
    rows = []
    for i in range(n):
        rows.append(lava_fault(LAVA_KINDS[i % len(LAVA_KINDS)], model, work, rng))
        if progress:
            progress(i + 1, n)
    return summarize_lava(rows)


def summarize_lava(rows: List[dict]) -> dict:
    by_kind = {}
    for k in LAVA_KINDS:
        rs = [r for r in rows if r["kind"] == k]
        if rs:
            by_kind[k] = {"trials": len(rs), "clean": sum(r["ok"] for r in rs),
                          "median_s": float(np.median([r["seconds"] for r in rs])),
                          "messages": sorted(Counter(r["message"][:80] for r in rs))[:3]}
    return {"trials": len(rows), "clean": sum(r["ok"] for r in rows),
            "hangs": sum(r["hang"] for r in rows),
            "procs_left": sum(r["procs_left"] for r in rows),
            "shm_left": sum(r["shm_left"] for r in rows),
            "tmp_left": sum(len(r["tmp_left"]) for r in rows),
            "tracebacks": sum(r["traceback"] for r in rows),
            "bad_messages": sum(not r["message_ok"] for r in rows),
            "by_kind": by_kind, "failures": [r for r in rows if not r["ok"]][:20]}


# -- killed writes ------------------------------------------------------------------------------
def _writer_child(target: str) -> None:
    from ff_neuro.model import load_model, save_model
    net = load_model(FIXTURES / "ff_dense.h5")
    print("ready", flush=True)
    while True:
        save_model(net, target)


def write_kills(n: int, seed: int, work: Path) -> dict:
    """Kill -9 a process that saves a model in a loop, ``n`` times at random moments."""
    from ff_neuro.model import load_model, save_model
    work.mkdir(parents=True, exist_ok=True)
    target = work / "model.h5"
    rng = np.random.default_rng([seed, 7])
    stale_after_kill, unreadable = 0, 0
    for _ in range(n):
        proc = subprocess.Popen([sys.executable, __file__, "--writer", str(target)],
                                stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()
        time.sleep(float(rng.uniform(0.01, 0.5)))
        proc.kill()
        proc.wait()
        stale_after_kill += len(glob.glob(str(work / ".model.h5.*.tmp")))
        if target.exists():
            try:
                load_model(target)
            except Exception:   # noqa: BLE001
                unreadable += 1
    save_model(load_model(FIXTURES / "ff_dense.h5"), target)   # the next write cleans up
    left = glob.glob(str(work / ".model.h5.*.tmp"))
    mask = os.umask(0)
    os.umask(mask)
    mode = target.stat().st_mode & 0o777
    return {"kills": n, "tmp_files_right_after_kills": stale_after_kill,
            "tmp_files_after_next_write": len(left), "unreadable_targets": unreadable,
            "file_mode": oct(mode), "expected_mode": oct(0o666 & ~mask),
            "ok": not left and not unreadable and mode == 0o666 & ~mask}


# -- bad input ----------------------------------------------------------------------------------
def bad_input_files(work: Path) -> Dict[str, str]:
    """The files the bad-input table refers to."""
    from ff_neuro.data import load_digits
    from ff_neuro.data.idx import write_idx
    from ff_neuro.model import load_model, save_model
    work.mkdir(parents=True, exist_ok=True)
    net = load_model(FIXTURES / "ff_dense.h5")
    quant = save_model(net, work / "quant.h5")
    net.quantized = None
    float_ = save_model(net, work / "float.h5")
    d = load_digits()
    x = (d.x_train * 255).astype(np.uint8).reshape(-1, 8, 8)

    def idx_set(name, y, xs=x):
        p = work / name
        p.mkdir(exist_ok=True)
        for split in ("train", "t10k"):
            write_idx(p / f"{split}-images-idx3-ubyte", xs)
            write_idx(p / f"{split}-labels-idx1-ubyte", y.astype(np.uint8))
        return str(p)

    y = d.y_train.copy()
    y255 = y.copy()
    y255[3] = 255
    blocker = work / "not-a-folder"
    blocker.write_text("a file")
    return {"float": str(float_), "quant": str(quant), "out": str(work / "out.h5"),
            "blocked": str(blocker / "out.h5"), "idx255": idx_set("idx255", y255),
            "idx3": idx_set("idx3", y % 3), "idx1": idx_set("idx1", np.zeros_like(y)),
            "missing": str(work / "no-such-dir")}


#: bad input: the command line, and a word the one-line message must contain
BAD_INPUTS = [
    (["train", "--out", "{out}", "--time-steps", "0"], "time"),
    (["train", "--out", "{out}", "--time-steps", "1e9"], "time"),
    (["train", "--out", "{out}", "--batch-size", "0"], "batch"),
    (["train", "--out", "{out}", "--epochs", "0"], "epochs"),
    (["train", "--out", "{out}", "--epochs", "-3"], "epochs"),
    (["train", "--out", "{out}", "--threshold", "inf"], "threshold"),
    (["train", "--out", "{out}", "--threshold", "-1"], "threshold"),
    (["train", "--out", "{out}", "--threshold", "nan"], "threshold"),
    (["train", "--out", "{out}", "--gain", "nan"], "gain"),
    (["train", "--out", "{out}", "--gain", "0"], "gain"),
    (["train", "--out", "{out}", "--gain", "-1"], "gain"),
    (["train", "--out", "{out}", "--alpha", "-1"], "alpha"),
    (["train", "--out", "{out}", "--weight-decay", "nan"], "weight"),
    (["train", "--out", "{out}", "--lr", "nan"], "lr"),
    (["train", "--out", "{out}", "--lr", "0"], "lr"),
    (["train", "--out", "{out}", "--dropout", "1"], "dropout"),
    (["train", "--out", "{out}", "--threads", "0"], "threads"),
    (["train", "--out", "{out}", "--seed", "-1"], "seed"),
    (["train", "--out", "{out}", "--hidden", "0"], "hidden"),
    (["train", "--out", "{out}", "--hidden", "20,abc"], "hidden"),
    (["train", "--out", "{out}", "--max-minutes", "0"], "minutes"),
    (["train", "--out", "{out}", "--max-minutes", "nan"], "minutes"),
    (["train", "--out", "{out}", "--max-minutes", "0.01"], "readout"),
    (["train", "--out", "{out}", "--dataset", "no-such-set"], "dataset"),
    (["train", "--out", "{out}", "--dataset", "digits", "--data-dir", "{missing}"], "data-dir"),
    (["train", "--out", "{out}", "--data-dir", "{missing}", "--dataset", "idx"], "{missing}"),
    (["train", "--out", "{out}", "--data-dir", "{idx255}", "--dataset", "idx"], "label"),
    (["train", "--out", "{out}", "--data-dir", "{idx1}", "--dataset", "idx"], "class"),
    (["train", "--out", "{blocked}"], "not-a-folder"),
    (["train", "--out", "{out}", "--algo", "ffgaf", "--epochs", "0"], "epochs"),
    (["train", "--out", "{out}", "--algo", "hebbian", "--hidden", "0"], "hidden"),
    (["train", "--out", "{out}", "--algo", "hebbian", "--probability", "bogus"], "probability"),
    (["evaluate", "{quant}", "--samples", "-1"], "samples"),
    (["evaluate", "{quant}", "--samples", "0"], "samples"),
    (["evaluate", "{quant}", "--samples", "-449"], "samples"),
    (["evaluate", "{quant}", "--samples", "1000000000000"], "samples"),
    (["evaluate", "{quant}", "--samples", "2.5"], "samples"),
    (["evaluate", "{quant}", "--timeout", "nan"], "timeout"),
    (["evaluate", "{quant}", "--timeout", "0"], "timeout"),
    (["evaluate", "{quant}", "--timeout", "-1"], "timeout"),
    (["evaluate", "{quant}", "--backend", "gpu"], "backend"),
    (["evaluate", "{quant}", "--dataset", "idx", "--data-dir", "{idx3}"], "classes"),
    (["evaluate", "{float}", "--backend", "lava-fixed"], "quantize"),
    (["evaluate", "{quant}", "--readout", "bogus"], "readout"),
    (["parity", "{quant}", "--backends", ""], "pair"),
    (["parity", "{quant}", "--backends", "float"], "pair"),
    (["parity", "{quant}", "--backends", "float,bogus"], "bogus"),
    (["parity", "{quant}", "--samples", "0"], "samples"),
    (["energy", "{quant}", "--profile", ""], "profile"),
    (["energy", "{quant}", "--profile", "no-such-chip"], "profile"),
    (["energy", "{quant}", "--samples", "-5"], "samples"),
    (["quantize", "{float}", "--out", "{blocked}"], "not-a-folder"),
    (["quantize", "{float}", "--dataset", "idx", "--data-dir", "{idx3}", "--out", "{out}"],
     "classes"),
    (["export", "{float}", "--out", "{out}"], "quantize"),
    (["export", "{quant}", "--out", "{blocked}"], "not-a-folder"),
    (["export", "{quant}", "--format", "onnx", "--out", "{out}"], "format"),
    (["learn", "--samples", "0"], "samples"),
    (["learn", "--every", "-1"], "every"),
    (["learn", "--hidden", "0"], "hidden"),
    (["learn", "--eta", "nan"], "eta"),
    (["learn", "--timeout", "0"], "timeout"),
    (["learn", "--eval-samples", "100000"], "eval"),
    (["learn", "--out", "{blocked}"], "not-a-folder"),
    (["analyze", "{quant}", "--samples", "1"], "samples"),
    (["analyze", "{quant}", "--samples", "0"], "samples"),
    (["analyze", "{quant}", "--tsne", "{blocked}"], "not-a-folder"),
    (["merge", "{float}", "{float}", "--out", "{out}"], "twice"),
    (["merge", "{float}", "--out", "{out}"], "two"),
    (["merge", "{float}", "{quant}", "--out", "{out}"], "same weights"),
    (["demo", "--epochs", "0"], "epochs"),
    (["demo", "--lava-samples", "0"], "lava-samples"),
    (["demo", "--timeout", "nan"], "timeout"),
    (["demo", "--profile", ""], "profile"),
]


def bad_inputs(work: Path) -> dict:
    """Every row of :data:`BAD_INPUTS`: refused (non-zero exit, one line naming the problem,
    no traceback) within seconds."""
    files = bad_input_files(work)
    rows = []
    for args, word in BAD_INPUTS:
        argv = [a.format(**files) for a in args]
        t0 = time.monotonic()
        r = run_cli(argv)
        r["seconds"] = round(time.monotonic() - t0, 2)
        word = word.format(**files)
        r["args"] = [a.replace(str(work), "WORK") for a in argv]
        r["ok"] = r["cli"] == "refused" and word.lower() in r.get("message", "").lower()
        rows.append(r)
    return {"trials": len(rows), "refused": sum(r["cli"] == "refused" for r in rows),
            "ok": sum(r["ok"] for r in rows),
            "max_seconds": max(r["seconds"] for r in rows),
            "failures": [r for r in rows if not r["ok"]], "rows": rows}


# -- the full campaign --------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=5000, help="corrupt model files")
    ap.add_argument("--lava", type=int, default=102, help="Lava runs with a fault")
    ap.add_argument("--kills", type=int, default=50, help="kill -9 during writes")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--work", default=None, help="scratch folder [default: a temporary one]")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "faults.json"))
    ap.add_argument("--file-worker", help=argparse.SUPPRESS)
    ap.add_argument("--failure-child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--writer", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.file_worker:
        return _file_worker(a.file_worker)
    if a.failure_child:
        return _failure_child(a.failure_child[0], int(a.failure_child[1]))
    if a.writer:
        return _writer_child(a.writer)
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import machine
    from ff_neuro.fileio import write_json
    from tqdm import tqdm
    work = Path(a.work or tempfile.mkdtemp(prefix="ff-neuro-faults-"))
    out = {"command": "python benchmarks/faults.py " + " ".join(sys.argv[1:]),
           "machine": machine(), "load_avg_start": os.getloadavg()}
    t0 = time.monotonic()
    bar = tqdm(total=a.files, desc="corrupt files", unit="file")

    def step(done, total, bar=bar):
        bar.n = done
        bar.refresh()
    out["corrupt_files"] = file_campaign(a.files, a.seed, work / "files", progress=step)
    bar.close()
    bar = tqdm(total=a.lava, desc="Lava faults", unit="run")
    out["lava_faults"] = lava_campaign(a.lava, a.seed, work / "lava",
                                       progress=lambda d, t: (bar.update(1)))
    bar.close()
    out["killed_writes"] = write_kills(a.kills, a.seed, work / "writes")
    out["bad_inputs"] = bad_inputs(work / "bad")
    out["minutes"] = round((time.monotonic() - t0) / 60, 1)
    out["load_avg_end"] = os.getloadavg()
    f, l, w, b = (out["corrupt_files"], out["lava_faults"], out["killed_writes"],
                  out["bad_inputs"])
    out["summary"] = {
        "corrupt_files": f["variants"], "file_failures": f["n_failures"],
        "file_hangs": f["api"].get("hang", 0), "file_crashes": f["api"].get("crash", 0),
        "lava_faults": l["trials"], "lava_clean": l["clean"], "lava_hangs": l["hangs"],
        "leaked_segments": l["shm_left"], "leaked_processes": l["procs_left"],
        "leaked_temp": l["tmp_left"], "write_kills": w["kills"], "writes_ok": w["ok"],
        "bad_inputs": b["trials"], "bad_inputs_ok": b["ok"],
        "tracebacks": (f["api"].get("traceback", 0) + f["cli"].get("traceback", 0)
                       + l["tracebacks"] + sum(r["cli"] == "traceback" for r in b["rows"]))}
    write_json(a.out, out)
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out["summary"], indent=2))


if __name__ == "__main__":
    main()
