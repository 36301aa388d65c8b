"""Run any network on the Lava CPU simulator (``Loihi2SimCfg``), many samples per compile.

``fixed_pt``: the NetX export of the network's Loihi layers (:func:`ff_neuro.export.netx
.write_netx`) as lava-dl's ``netx.hdf5.Network`` builds it, on Lava's bit-accurate models.
``floating_pt``, and ``fixed_pt`` networks with neurons NetX cannot describe (other resets,
per-neuron parameters, a bias in the current, recurrent synapses): Lava ``Dense`` / ``Conv``
processes with ``LIFReset`` or ff-neuro's own ``CubaLIF`` (:func:`save_spec`, built by
:mod:`ff_neuro.run.lava.worker`).

The reset-window protocol: samples are laid back to back (``T`` steps each) in one input stream
and every layer resets at the step its window starts (NetX's ``reset_interval = T,
reset_offset = 1``; layer ``k`` resets ``k`` steps after layer 0), which also absorbs the
one-step latency of each synapse: layer ``k`` (0-based) sees window ``j``, step ``r`` at time
step ``j*T + k + 2 + r`` (1-based), recorded in row ``j*T + k + 1 + r``.

Lava's ports of conv layers are ``(W, H, C)``; frames are transposed to that layout here and the
recorded spikes back, so everything outside this module sees PyTorch's ``(C, H, W)``.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ... import checks
from ...model.network import Network
from ...model.synapse import Conv2d
from ..backend import Backend, BackendUnavailable, LayerSpikes, RunStats
from .supervisor import run_worker

MODES = ("fixed_pt", "floating_pt")
LAVA_HINT = ("Lava (lava-nc 0.10.0, lava-dl 0.6.0) is not installed: it supports Python 3.10 "
             "only; install it with `pip install ff-neuro[lava]` on Python 3.10, or run "
             "`make env`")


def lava_available() -> Tuple[bool, str]:
    """Whether Lava and lava-dl are importable here (checked without importing them)."""
    for mod in ("lava.magma", "lava.lib.dl.netx"):
        try:
            if importlib.util.find_spec(mod) is None:
                return False, LAVA_HINT
        except ModuleNotFoundError:
            return False, LAVA_HINT
    return True, ""


@dataclass
class LavaRunStats(RunStats):
    """Timings of a Lava run: compiles, simulated time steps and where the time went (sums over
    the compiles of one :meth:`LavaBackend.run`)."""

    windows: int = 0
    n_steps: int = 0
    import_s: float = float("nan")
    build_s: float = float("nan")
    run_s: float = float("nan")
    stop_s: float = float("nan")
    compiles: int = 1

    @property
    def ms_per_step(self) -> float:
        return 1000.0 * self.run_s / max(self.n_steps, 1)

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["ms_per_step"] = self.ms_per_step
        return d

    def add(self, other: "LavaRunStats") -> None:
        for f in ("runs", "windows", "n_steps", "import_s", "build_s", "run_s", "stop_s",
                  "wall_s", "compiles"):
            setattr(self, f, getattr(self, f) + getattr(other, f))


def lava_shape(shape: Sequence[int]) -> tuple:
    """PyTorch's (C, H, W) as Lava's (W, H, C); flat shapes unchanged."""
    return tuple(shape)[::-1] if len(shape) == 3 else tuple(shape)


def _to_lava(a: np.ndarray, lead: int) -> np.ndarray:
    """Transpose the trailing (C, H, W) axes of ``a`` (after ``lead`` leading axes) to
    (W, H, C)."""
    if a.ndim - lead != 3:
        return a
    return np.transpose(a, tuple(range(lead)) + (lead + 2, lead + 1, lead))


def run_netx_windows(netx_path: Optional[str], windows: np.ndarray,
                     layer_shapes: Sequence[tuple], *, spec: Optional[str] = None,
                     input_message_bits: int = 0, mode: str = "fixed_pt",
                     timeout_s: float = 600.0, inject_failure_at: Optional[int] = None,
                     stop_grace_s: float = 10.0, work: Optional[Path] = None,
                     backend: str = "lava",
                     cleanup: Sequence[str] = ()) -> Tuple[List[np.ndarray], LavaRunStats]:
    """Run a NetX file (``fixed_pt``) or a spec of Lava processes (:func:`save_spec`)
    on ``windows`` (N, T, *in_shape) input messages, one window per sample, in one compile.

    Shapes are PyTorch's ((C, H, W) for conv layers); ``layer_shapes`` are the layers' output
    shapes. ``work``: the folder for the run's files (the caller's, kept; else a temporary one,
    removed; ``cleanup``: more folders the worker's watchdog removes if this process dies).
    Returns per-layer spikes ``(N, T, *shape_k)`` uint8 (state reset at every window)
    and timings. Raises :class:`~ff_neuro.run.lava.LavaTimeoutError` /
    :class:`~ff_neuro.run.lava.LavaRunError` instead of hanging.
    """
    if mode not in MODES:
        raise ValueError(f"unknown Lava mode {mode!r} ({'|'.join(MODES)})")
    windows = np.asarray(windows, dtype=np.uint8)  # binary spikes or graded values <= 255
    if windows.ndim < 3:
        raise ValueError(f"windows must be (N, T, *in_shape), got {windows.shape}")
    N, T = windows.shape[:2]
    in_shape = lava_shape(windows.shape[2:])
    shapes = [lava_shape(tuple(int(d) for d in np.atleast_1d(s))) for s in layer_shapes]
    L = len(shapes)
    n_steps = N * T + L
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="ff-neuro-lava-")) if own else Path(work)
    t_start = time.perf_counter()
    try:
        frames = _to_lava(windows, 2).reshape((N * T,) + in_shape)
        np.save(work / "input.npy", np.ascontiguousarray(frames))
        recs = []
        for k, shp in enumerate(shapes):
            p = work / f"layer{k}.npy"
            np.lib.format.open_memmap(p, mode="w+", dtype=np.uint8,
                                      shape=(n_steps,) + shp).flush()
            recs.append(str(p))
        request = {"netx": None if netx_path is None else str(netx_path),
                   "spec": None if spec is None else str(spec),
                   "input": str(work / "input.npy"), "input_shape": list(in_shape),
                   "input_message_bits": int(input_message_bits),
                   "recorders": recs, "n_steps": n_steps, "reset_interval": T, "mode": mode,
                   "loglevel": "INFO", "inject_failure_at": inject_failure_at}
        result = run_worker("ff_neuro.run.lava.worker", work, request,
                            what=f"{mode}, {N} samples x {T} steps", timeout_s=timeout_s,
                            stop_grace_s=stop_grace_s, cleanup=cleanup)
        spikes = []
        for k, p in enumerate(recs):
            rows = np.load(p)[k + 1: k + 1 + N * T].reshape((N, T) + shapes[k])
            spikes.append(np.ascontiguousarray(_to_lava(rows, 2)))  # (W,H,C) -> (C,H,W)
        nan = float("nan")
        stats = LavaRunStats(backend=backend, runs=N, time_steps=T,
                             wall_s=time.perf_counter() - t_start, windows=N, n_steps=n_steps,
                             import_s=result.get("import_s", nan),
                             build_s=result.get("build_s", nan), run_s=result.get("run_s", nan),
                             stop_s=result.get("stop_s", nan))
        return spikes, stats
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def _lava_param(value, shape: tuple, dtype) -> np.ndarray:
    """A neuron parameter (a number or a per-neuron array) for every neuron, in Lava's layout."""
    return np.ascontiguousarray(_to_lava(np.array(np.broadcast_to(value, shape), dtype=dtype), 0))


def save_spec(net: Network, path, quantized: bool = False) -> Path:
    """A network's float layers (``quantized=False``) or Loihi layers as plain arrays for the
    Lava worker (``.npz``), which builds them from Lava ``Dense`` / ``Conv`` processes and
    ``LIFReset`` (a neuron Lava's stock LIF computes, :attr:`Layer.plain`) or ff-neuro's own
    :class:`~ff_neuro.run.lava.procs.process.CubaLIF`.

    Per layer ``k``: ``kind_k`` (dense | conv); ``weight_k`` as applied to its input messages
    (float: float64, layer 0 through the encoder's :meth:`input_weight`; Loihi: NetX's integer
    weight mapping with ``weight_exp_k`` and ``weight_bits_k`` for dense layers, the integer
    weights for conv layers); conv weights in Lava's ``(C_out, kW, kH, C_in)`` layout,
    spatially flipped (Lava convolves, torch correlates), with ``in_shape_k`` (W, H, C),
    ``stride_k``, ``padding_k``, ``dilation_k`` (each ``(x, y)``); ``bias_k``, ``vth_k``, ``du_k``, ``dv_k`` per neuron in Lava's
    layout; ``plain_k``, ``reset_k``, ``reset_delay_k``, ``bias_in_k``; and, for a recurrent
    layer, ``rec_weight_k`` (with ``rec_weight_exp_k`` and ``rec_weight_bits_k`` for Loihi
    layers).
    """
    from ..emulator import netx_weight_bits
    from ..float_backend import layer_weight
    layers = net.quantized if quantized else net.layers
    arrays = {"n_layers": np.int64(len(layers)), "quantized": np.bool_(quantized),
              "input_message_bits": np.int64(net.encoder.message_bits)}
    for k, layer in enumerate(layers):
        n, shape = layer.neuron, layer.out_shape
        w = layer.weight.astype(np.int64) if quantized else layer_weight(net, k)
        bias = layer.neuron_bias()
        bias = np.zeros(shape) if bias is None else np.asarray(bias, np.float64)
        if layer.recurrent is not None and layer.recurrent.bias is not None:
            bias = bias + layer.recurrent.bias       # float layers: the same current every step
        if isinstance(layer.synapse, Conv2d):
            arrays[f"kind_{k}"] = np.array("conv")
            w = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(0, 3, 2, 1))
            arrays[f"in_shape_{k}"] = np.array(lava_shape(layer.in_shape), dtype=np.int64)
            syn = layer.synapse                  # Lava's (x, y) order: ours (y, x) reversed
            arrays[f"stride_{k}"] = np.array(syn.stride_hw[::-1], dtype=np.int64)
            arrays[f"padding_{k}"] = np.array(syn.padding_hw[::-1], dtype=np.int64)
            arrays[f"dilation_{k}"] = np.array(syn.dilation_hw[::-1], dtype=np.int64)
        else:
            arrays[f"kind_{k}"] = np.array("dense")
            if quantized:
                w, w_exp, bits = netx_weight_bits(w)
                arrays[f"weight_exp_{k}"] = np.int64(w_exp + layer.synapse.weight_exp)
                arrays[f"weight_bits_{k}"] = np.int64(bits)
        arrays[f"weight_{k}"] = w
        if quantized:
            arrays[f"bias_{k}"] = _lava_param(bias, shape, np.int64)
            arrays[f"vth_{k}"] = _lava_param(n.vth, shape, np.int64)
            arrays[f"du_{k}"] = _lava_param(n.i_decay, shape, np.int64)
            arrays[f"dv_{k}"] = _lava_param(n.v_decay, shape, np.int64)
        else:
            arrays[f"bias_{k}"] = _lava_param(bias, shape, np.float64)
            arrays[f"vth_{k}"] = _lava_param(n.threshold, shape, np.float64)
            arrays[f"du_{k}"] = _lava_param(n.i_decay, shape, np.float64)
            arrays[f"dv_{k}"] = _lava_param(n.v_decay, shape, np.float64)
        arrays[f"plain_{k}"] = np.bool_(n.plain)
        arrays[f"reset_{k}"] = np.array(n.reset)
        arrays[f"reset_delay_{k}"] = np.bool_(n.reset_delay)
        arrays[f"bias_in_{k}"] = np.array(n.bias_in)
        rec = layer.recurrent
        if rec is not None:
            if quantized:
                w_rec, w_exp, bits = netx_weight_bits(rec.weight) if rec.weight.any() else \
                    (rec.weight.astype(np.int64), 0, 8)
                arrays[f"rec_weight_exp_{k}"] = np.int64(w_exp + rec.weight_exp)
                arrays[f"rec_weight_bits_{k}"] = np.int64(bits)
                arrays[f"rec_weight_{k}"] = w_rec
            else:
                arrays[f"rec_weight_{k}"] = rec.weight.astype(np.float64)
    np.savez(path, **arrays)
    return Path(path)


class LavaBackend(Backend):
    """Lava CPU simulator (``Loihi2SimCfg``), for any network.

    ``mode="fixed_pt"``: the NetX export of ``net.quantized`` (bit-accurate Loihi models);
    ``"floating_pt"``: the float layers as Lava ``Dense``/``Conv`` + ``LIFReset``. ``chunk``
    samples per compile (each under ``timeout_s``); None: the samples split evenly over the
    workers, except that networks with conv layers run at most 10 samples per compile (Lava's
    conv models take one scipy convolution per channel pair and step). ``workers``: how many
    supervised Lava runs go at once, each on its own chunks of samples, with its own time limit
    and clean-up (default: half the CPU cores this process may use, :func:`default_workers`);
    the spikes are the same, in the same order, for any number of workers.
    """

    prefers_one_call = True
    supervised = True

    def __init__(self, mode: str = "fixed_pt", timeout_s: float = 600.0,
                 chunk: Optional[int] = None, workers: Optional[int] = None):
        if mode not in MODES:
            raise ValueError(f"unknown Lava mode {mode!r} (fixed_pt|floating_pt)")
        self.mode = mode
        self.name = "lava-fixed" if mode == "fixed_pt" else "lava-float"
        self.timeout_s = float(timeout_s)
        self.chunk = chunk
        self.workers = default_workers() if workers is None else \
            checks.count("workers", workers, high=256)
        self.stats: Optional[LavaRunStats] = None

    @classmethod
    def available(cls) -> Tuple[bool, str]:
        return lava_available()

    def run(self, net: Network, spikes: np.ndarray) -> LayerSpikes:
        ok, why = self.available()
        if not ok:
            raise BackendUnavailable(f"backend {self.name}: {why}")
        spikes = self.check_input(net, spikes)
        if self.mode == "fixed_pt" and net.quantized is None:
            raise ValueError("Lava fixed_pt runs quantized models: quantize first")
        layers = net.quantized if self.mode == "fixed_pt" else net.layers
        B = spikes.shape[1]
        conv = any(isinstance(l.synapse, Conv2d) for l in layers)
        chunk = self.chunk or -(-B // self.workers)
        if conv:
            chunk = min(chunk, 10)
        starts = list(range(0, B, max(1, chunk)))
        work = Path(tempfile.mkdtemp(prefix="ff-neuro-lava-"))
        t0 = time.perf_counter()
        try:
            if self.mode == "fixed_pt" and all(q.plain for q in layers):
                from ...export.netx import write_netx
                netx_path, spec = str(write_netx(net, work / "net.h5")), None
            else:   # Lava processes built from a spec: any neuron, recurrent synapses
                netx_path = None
                spec = str(save_spec(net, work / "net.npz", self.mode == "fixed_pt"))
            from ...export.netx import lava_input_shape
            # (B, T, *in_shape): frames as NetX's input layer takes them (flat before a dense
            # layer 0)
            windows = np.moveaxis(spikes.reshape(spikes.shape[:2] + lava_input_shape(net)), 1, 0)

            def one(i: int):
                sub = work / f"chunk{i}"
                sub.mkdir()
                return run_netx_windows(
                    netx_path, windows[starts[i]:starts[i] + chunk], [l.out_shape for l in layers],
                    spec=spec, input_message_bits=net.encoder.message_bits, mode=self.mode,
                    timeout_s=self.timeout_s, backend=self.name, work=sub,
                    cleanup=[str(work)])

            results = _run_all(one, len(starts), self.workers)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        total = results[0][1]
        for _, st in results[1:]:
            total.add(st)
        total.wall_s = time.perf_counter() - t0
        self.stats = total
        return LayerSpikes([np.ascontiguousarray(np.concatenate(
            [np.moveaxis(out[k], 1, 0) for out, _ in results], axis=1))
            for k in range(len(layers))])


def default_workers() -> int:
    """The default number of parallel Lava runs: half the CPU cores this process may run on
    (one Lava run keeps about 1.5 cores busy: its processes exchange messages every step;
    benchmarks/results/lava_workers.json), at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:          # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // 2)


def _run_all(job, n: int, workers: int) -> list:
    """``[job(0), ..., job(n - 1)]``, at most ``workers`` at once (threads: each job waits on
    its own supervised Lava process). Every job runs to its end (its own time limit applies);
    the first error, in job order, is raised after all have finished."""
    if workers <= 1 or n <= 1:
        return [job(i) for i in range(n)]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=min(workers, n)) as pool:
        futures = [pool.submit(job, i) for i in range(n)]
    errors = [f.exception() for f in futures]
    for exc in errors:
        if exc is not None:
            raise exc
    return [f.result() for f in futures]


class Loihi2Backend(Backend):
    """Loihi 2 hardware through Lava's ``Loihi2HwCfg``. It needs Intel's lava-loihi extension
    (distributed to INRC members) and a Loihi 2 system; :meth:`available` says whether they are
    here. ``lava-fixed`` runs the same chip arithmetic bit-accurately on the CPU."""

    name = "loihi2"
    supervised = True

    def __init__(self, **options):
        self.options = options

    @classmethod
    def available(cls) -> Tuple[bool, str]:
        for mod in ("lava_loihi", "lava.magma.compiler.subcompilers.nc.ncproc_compiler"):
            try:
                if importlib.util.find_spec(mod) is not None:
                    return False, ("lava-loihi is installed, but ff-neuro has no Loihi 2 "
                                   "hardware runner yet; use lava-fixed (Lava's bit-accurate "
                                   "CPU models of the same arithmetic)")
            except ModuleNotFoundError:
                pass
        return False, ("Loihi 2 hardware runs through Lava's Loihi2HwCfg, which needs Intel's "
                       "lava-loihi extension (available to INRC members) and a Loihi 2 system; "
                       "lava-loihi is not installed here. Use lava-fixed: Lava's bit-accurate "
                       "CPU models of the same chip arithmetic.")

    def run(self, net: Network, spikes: np.ndarray) -> LayerSpikes:
        raise BackendUnavailable(f"backend {self.name}: {self.available()[1]}")
