"""Run quantized networks on the Lava CPU simulator (``Loihi2SimCfg``), safely.

Every Lava run happens in a child process (:mod:`ff_neuro.export.lava_worker`) in its own
process group, under a time limit:

* the worker always calls ``stop()`` (in ``finally``);
* if the run hangs (a ProcessModel that raises can block ``run()`` forever) or exceeds the limit,
  the whole process group is killed, leaked shared-memory segments of that run are removed, and
  :class:`LavaTimeoutError` reports the child's last output (which includes the runtime's log of
  the failing model's traceback);
* a failure inside the worker raises :class:`LavaRunError` with the child's traceback.

Many samples run per compile: samples are laid back to back (``T`` steps each) in one input
stream and NetX's ``reset_interval = T, reset_offset = 1`` resets layer ``k`` at the step its
window starts, which also absorbs the one-step latency of each Dense: layer ``k`` (0-based) sees
window ``j``, step ``r`` at time step ``j*T + k + 2 + r`` (1-based), recorded in row
``j*T + k + 1 + r``.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ff_neuro.model.primitives import FFNetwork
from ff_neuro.run.backend import Backend, LayerSpikes

from .netx import write_netx

SHM_DIR = Path("/dev/shm")


class LavaRunError(RuntimeError):
    """A Lava run failed; the message carries the child's error and traceback.

    ``pgid`` is the process group of the run, all of which was killed before this was raised.
    """

    pgid: Optional[int] = None


class LavaTimeoutError(LavaRunError):
    """A Lava run exceeded its time limit and was killed."""


@dataclass
class LavaRunStats:
    """Timings of one Lava run (one compile, many samples)."""

    windows: int
    time_steps: int
    n_steps: int
    import_s: float
    build_s: float
    run_s: float
    stop_s: float
    wall_s: float

    @classmethod
    def from_worker(cls, result: dict, windows: int, time_steps: int, n_steps: int,
                    wall_s: float) -> "LavaRunStats":
        """From a worker's result dict (its timings; NaN where the worker did not report)."""
        nan = float("nan")
        return cls(windows=windows, time_steps=time_steps, n_steps=n_steps,
                   import_s=result.get("import_s", nan), build_s=result.get("build_s", nan),
                   run_s=result.get("run_s", nan), stop_s=result.get("stop_s", nan),
                   wall_s=wall_s)

    @property
    def ms_per_step(self) -> float:
        return 1000.0 * self.run_s / max(self.n_steps, 1)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["ms_per_step"] = self.ms_per_step
        return d


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _dump_stacks(pgid: int, wait_s: float = 1.0) -> None:
    """Ask every process of a hung run to print its Python stack (the worker registers
    ``faulthandler`` on SIGUSR1), then give them a moment to write it."""
    try:
        os.killpg(pgid, signal.SIGUSR1)
    except (ProcessLookupError, PermissionError):
        return
    time.sleep(wait_s)


def _read_result(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _wait(proc: subprocess.Popen, result_path: Path, timeout_s: float,
          stop_grace_s: float) -> Optional[int]:
    """Wait for the worker; ``None`` if it must be killed: past ``timeout_s``, or still alive
    ``stop_grace_s`` after it reported a failed run (Lava's stop() hangs after a failure)."""
    deadline = time.monotonic() + timeout_s
    failed_at = None
    while True:
        rc = proc.poll()
        if rc is not None:
            return rc
        now = time.monotonic()
        if now > deadline:
            return None
        if failed_at is None:
            res = _read_result(result_path)
            if res.get("phase") == "stopping" and not res.get("ok"):
                failed_at = now
        elif now - failed_at > stop_grace_s:
            return None
        time.sleep(0.05)


def _failure_message(mode: str, result: dict, rc: Optional[int], log_tail: str = "") -> str:
    head = f"Lava run ({mode}) failed: {result.get('error', 'no result written')}"
    if rc is None:
        head += " (Lava then hung in stop(); its processes were killed)"
    elif rc != 0:
        head += f" (exit code {rc})"
    parts = [head]
    for tb in result.get("model_tracebacks", []):
        parts.append("ProcessModel traceback (from Lava's child process):\n" + tb.rstrip())
    if not result.get("model_tracebacks") and result.get("traceback"):
        parts.append(result["traceback"].rstrip())
    if log_tail:
        parts.append("Last output:\n" + log_tail)
    return "\n".join(parts)


def _group_shm(pgid: int) -> set:
    """Shared-memory files mapped by the processes of group ``pgid`` (read from
    ``/proc/<pid>/maps``): what a killed run would leak."""
    names = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) != pgid:
                continue
            with open(f"/proc/{entry}/maps") as fh:
                for line in fh:
                    i = line.find(str(SHM_DIR) + "/")
                    if i >= 0:
                        names.add(line[i:].split(" (deleted)")[0].strip())
        except (OSError, ValueError):
            continue
    return names


def _tail(path: Path, n_chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n_chars:]
    except OSError:
        return ""


def run_worker(module: str, work: Path, request: dict, *, what: str, timeout_s: float,
               stop_grace_s: float = 10.0) -> dict:
    """Run ``python -m module work/request.json`` as a Lava worker and return its result dict.

    The worker runs in its own process group under ``timeout_s``; if it hangs (or is still
    alive ``stop_grace_s`` after reporting a failed run, when Lava's ``stop()`` hangs), every
    process of the group prints its stack and is killed, and the shared memory it mapped is
    released. Failures raise :class:`LavaRunError` / :class:`LavaTimeoutError` (with ``pgid``).
    """
    request = {**request, "result": str(work / "result.json")}
    (work / "request.json").write_text(json.dumps(request))
    log_path = work / "worker.log"
    proc = None
    leaked: set = set()
    try:
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, str(work / "request.json")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
            rc = _wait(proc, work / "result.json", timeout_s, stop_grace_s)
            if rc is None:  # hung: collect stacks, kill the group, report
                _dump_stacks(proc.pid)
                leaked = _group_shm(proc.pid)
                _kill_group(proc.pid)
                proc.wait()
                partial = _read_result(work / "result.json")
                if partial.get("error"):
                    raise LavaRunError(_failure_message(what, partial, rc=None))
                raise LavaTimeoutError(
                    f"Lava run ({what}) did not finish within {timeout_s:.0f} s and was killed "
                    f"(a ProcessModel that raises makes Lava hang). Last output of the Lava "
                    f"processes:\n{_tail(log_path)}")
        result = _read_result(work / "result.json")
        if rc != 0 or not result.get("ok"):
            raise LavaRunError(_failure_message(what, result, rc, _tail(log_path)))
        return result
    except LavaRunError as exc:
        exc.pgid = None if proc is None else proc.pid
        raise
    finally:
        if proc is not None:
            _kill_group(proc.pid)  # no Lava child may outlive the run
        for path in leaked:  # shared memory the killed run can no longer release
            try:
                os.unlink(path)
            except OSError:
                pass


def run_netx_windows(netx_path: Optional[str], windows: np.ndarray, layer_sizes: Sequence[int], *,
                     float_net: Optional[str] = None, input_message_bits: int = 0,
                     mode: str = "fixed_pt", timeout_s: float = 600.0,
                     inject_failure_at: Optional[int] = None,
                     stop_grace_s: float = 10.0, keep_dir: bool = False) -> Tuple[List[np.ndarray], LavaRunStats]:
    """Run a NetX file on ``windows`` (N, T, n_in) binary spikes, one window per sample.

    ``mode="fixed_pt"`` runs the NetX file (lava-dl's ``netx.hdf5.Network``);
    ``mode="floating_pt"`` runs the float model saved by :func:`save_float_spec` (``float_net``)
    as Lava ``Dense`` + ``LIFReset`` processes.

    Returns per-layer spikes ``(N, T, n_k)`` uint8 (state reset at every window) and timings.
    Raises :class:`LavaTimeoutError` / :class:`LavaRunError` instead of hanging.
    Frames may have more axes (conv nets, in Lava's (W, H, C) port layout, see
    :func:`run_netx_conv_windows`): ``windows`` (N, T, *in_shape), ``layer_sizes`` shapes.
    """
    windows = np.asarray(windows, dtype=np.uint8)  # binary spikes or graded values <= 255
    if windows.ndim < 3:
        raise ValueError(f"windows must be (N, T, n_in), got {windows.shape}")
    N, T = windows.shape[:2]
    in_shape = windows.shape[2:]
    shapes = [tuple(int(d) for d in np.atleast_1d(s)) for s in layer_sizes]
    L = len(shapes)
    n_steps = N * T + L
    work = Path(tempfile.mkdtemp(prefix="ff-neuro-lava-"))
    t_start = time.perf_counter()
    try:
        np.save(work / "input.npy", np.ascontiguousarray(windows.reshape((N * T,) + in_shape)))
        recs = []
        for k, shp in enumerate(shapes):
            p = work / f"layer{k}.npy"
            np.lib.format.open_memmap(p, mode="w+", dtype=np.uint8,
                                      shape=(n_steps,) + shp).flush()
            recs.append(str(p))
        request = {"netx": None if netx_path is None else str(netx_path),
                   "float_net": None if float_net is None else str(float_net),
                   "input": str(work / "input.npy"), "n_inputs": int(np.prod(in_shape)),
                   "input_shape": list(in_shape) if len(in_shape) > 1 else None,
                   "input_message_bits": int(input_message_bits),
                   "recorders": recs, "n_steps": n_steps, "reset_interval": T, "mode": mode,
                   "loglevel": "INFO", "inject_failure_at": inject_failure_at}
        result = run_worker("ff_neuro.export.lava_worker", work, request,
                            what=f"{mode}, {N} samples x {T} steps", timeout_s=timeout_s,
                            stop_grace_s=stop_grace_s)
        spikes = []
        for k, p in enumerate(recs):
            rows = np.load(p)
            spikes.append(rows[k + 1: k + 1 + N * T].reshape((N, T) + shapes[k]).copy())
        stats = LavaRunStats.from_worker(result, N, T, n_steps,
                                         time.perf_counter() - t_start)
        return spikes, stats
    finally:
        if not keep_dir:
            shutil.rmtree(work, ignore_errors=True)


def loihi2_hardware_available() -> Tuple[bool, str]:
    """Whether Lava can target a Loihi 2 board here (``Loihi2HwCfg`` needs Intel's lava-loihi
    extension, distributed to INRC members, and a board)."""
    import importlib.util
    for mod in ("lava_loihi", "lava.magma.compiler.subcompilers.nc.ncproc_compiler"):
        try:
            if importlib.util.find_spec(mod) is not None:
                return True, "lava-loihi found"
        except ModuleNotFoundError:
            pass
    return False, ("backend loihi2-hw runs on Loihi2HwCfg, which needs Intel's lava-loihi "
                   "extension (available to INRC members) and a Loihi 2 system; lava-loihi is not "
                   "installed here. Use --backend lava-fixed: Lava's bit-accurate CPU models of "
                   "the same chip arithmetic.")


def save_float_spec(net: FFNetwork, path) -> Path:
    """The float layers as plain arrays for the ``floating_pt`` worker (``.npz``)."""
    from ff_neuro.run.torch_backend import input_weight
    arrays = {"n_layers": np.int64(len(net.layers)),
              "input_message_bits": np.int64(net.encoding.message_bits)}
    for k, l in enumerate(net.layers):
        arrays[f"weight_{k}"] = input_weight(net, k)
        arrays[f"bias_{k}"] = (np.zeros(l.n_out) if l.bias is None else l.bias).astype(np.float64)
        arrays[f"threshold_{k}"] = np.float64(l.threshold)
        arrays[f"v_decay_{k}"] = np.float64(l.v_decay)
    np.savez(path, **arrays)
    return Path(path)


class LavaBackend(Backend):
    """Lava CPU simulator (``Loihi2SimCfg``).

    ``fixed_pt``: the NetX export of ``net.quantized`` (bit-accurate Loihi models);
    ``floating_pt``: the float layers as Lava ``Dense`` + ``LIFReset``. One compile per
    :meth:`run` call, however many samples it holds.
    """

    def __init__(self, mode: str = "fixed_pt", timeout_s: float = 600.0):
        if mode not in ("fixed_pt", "floating_pt"):
            raise ValueError(f"unknown Lava mode {mode!r} (fixed_pt|floating_pt)")
        self.mode = mode
        self.name = "lava-fixed" if mode == "fixed_pt" else "lava-float"
        self.timeout_s = timeout_s
        self.last_stats: Optional[LavaRunStats] = None

    def run(self, net: FFNetwork, spikes: np.ndarray) -> LayerSpikes:
        spikes = self.check_input(net, spikes)
        work = Path(tempfile.mkdtemp(prefix="ff-neuro-netx-"))
        try:
            if self.mode == "fixed_pt":
                if net.quantized is None:
                    raise ValueError("Lava fixed_pt runs quantized models: quantize first")
                netx_path, float_net = str(write_netx(net, work / "net.h5")), None
                sizes = [q.n_out for q in net.quantized]
            else:
                netx_path, float_net = None, str(save_float_spec(net, work / "net.npz"))
                sizes = [l.n_out for l in net.layers]
            out, stats = run_netx_windows(
                netx_path, np.transpose(spikes, (1, 0, 2)), sizes, float_net=float_net,
                input_message_bits=net.encoding.message_bits, mode=self.mode,
                timeout_s=self.timeout_s)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self.last_stats = stats
        return LayerSpikes([np.ascontiguousarray(np.transpose(s, (1, 0, 2))) for s in out])


def save_float_conv_spec(net, path) -> Path:
    """A ConvFFNetwork's float layers as plain arrays for the ``floating_pt`` worker (``.npz``,
    ``kind = "conv"``; built by ``lava_worker._float_conv_network``).

    Weights in Lava's ``Conv`` layout (C_out, kW, kH, C_in), spatially flipped (Lava
    convolves, torch correlates), float64; layer 0 gets ``W * clip / levels`` (computed as
    :func:`ff_neuro.run.conv.float_layer` does), since its input is the encoder's integer level
    ``k`` while the float model's input is ``k * clip / levels``. ``in_shape_k``: (W, H, C).
    """
    scale0 = net.encoder.clip / net.encoder.levels
    arrays = {"kind": np.array("conv"), "n_layers": np.int64(len(net.layers)),
              "input_message_bits": np.int64(net.encoder.message_bits)}
    for k, l in enumerate(net.layers):
        w = l.weight.astype(np.float64) * (scale0 if k == 0 else 1.0)
        arrays[f"weight_{k}"] = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(0, 3, 2, 1))
        arrays[f"in_shape_{k}"] = np.array(l.in_shape[::-1], dtype=np.int64)
        arrays[f"stride_{k}"] = np.int64(l.stride)
        arrays[f"padding_{k}"] = np.int64(l.padding)
        arrays[f"bias_{k}"] = (np.zeros(l.out_shape[0]) if l.bias is None
                               else l.bias).astype(np.float64)
        arrays[f"threshold_{k}"] = np.float64(l.threshold)
        arrays[f"v_decay_{k}"] = np.float64(l.v_decay)
    np.savez(path, **arrays)
    return Path(path)


def run_netx_conv_windows(netx_path: Optional[str], windows: np.ndarray,
                          layer_shapes: Sequence[tuple], *, input_message_bits: int = 0,
                          timeout_s: float = 600.0, keep_dir: bool = False,
                          mode: str = "fixed_pt", float_net: Optional[str] = None,
                          ) -> Tuple[List[np.ndarray], LavaRunStats]:
    """Run a NetX conv file (:func:`ff_neuro.export.netx.write_netx_conv`) in Lava fixed_pt, or
    (``mode="floating_pt"``) the float conv model saved by :func:`save_float_conv_spec`
    (``float_net``) as Lava ``Conv`` + ``LIFReset`` floating_pt processes.

    ``windows``: (N, T, C, H, W) input spikes (graded levels for a graded input), one window
    per sample; ``layer_shapes``: each conv layer's (C, H, W). Lava's ports are (W, H, C): the
    input frames are transposed to that layout here, and the recorded spikes back. Timing is
    that of :func:`run_netx_windows` (per-layer one-step latency absorbed by NetX's staggered
    resets, ``reset_interval = T``). Returns per-layer spikes (N, T, C, H, W) uint8 and timings.
    """
    if mode not in ("fixed_pt", "floating_pt"):
        raise ValueError(f"unknown Lava mode {mode!r} (fixed_pt|floating_pt)")
    if (netx_path if mode == "fixed_pt" else float_net) is None:
        raise ValueError(f"mode {mode} needs " + ("netx_path" if mode == "fixed_pt"
                                                  else "float_net"))
    windows = np.asarray(windows, dtype=np.uint8)
    if windows.ndim != 5:
        raise ValueError(f"windows must be (N, T, C, H, W), got {windows.shape}")
    spikes, stats = run_netx_windows(
        netx_path, np.transpose(windows, (0, 1, 4, 3, 2)), [tuple(s[::-1]) for s in layer_shapes],
        float_net=float_net, input_message_bits=input_message_bits, mode=mode,
        timeout_s=timeout_s, keep_dir=keep_dir)
    return [np.ascontiguousarray(np.transpose(s, (0, 1, 4, 3, 2))) for s in spikes], stats


def run_conv_lava(net, images: np.ndarray, timeout_s: float = 600.0,
                  chunk: Optional[int] = None,
                  mode: str = "fixed_pt") -> Tuple[List[np.ndarray], LavaRunStats]:
    """A ConvFFNetwork on Lava: images (N, C, H, W) -> per-layer spikes (T, N, C, H, W) uint8
    (the encoder runs on the host; its levels are graded input spikes).

    ``mode="fixed_pt"``: the NetX export of the quantized layers (needs ``net.quantized``);
    ``mode="floating_pt"``: the float layers as Lava ``Conv`` + ``LIFReset`` floating_pt
    processes (:func:`save_float_conv_spec`), the Lava twin of
    :func:`ff_neuro.run.conv.run_float`.

    ``chunk``: samples per Lava run (one compile each, each under ``timeout_s``); Lava's conv
    models are slow (scipy, one 2-D convolution per channel pair and step), so large nets need
    several runs. Returned timings are summed over the runs."""
    from ff_neuro.run.conv import encode
    if mode not in ("fixed_pt", "floating_pt"):
        raise ValueError(f"unknown Lava mode {mode!r} (fixed_pt|floating_pt)")
    if mode == "fixed_pt" and net.quantized is None:
        raise ValueError("Lava fixed_pt runs quantized models: quantize first")
    n = len(images)
    chunk = n if not chunk else int(chunk)
    work = Path(tempfile.mkdtemp(prefix="ff-neuro-netx-conv-"))
    outs: List[List[np.ndarray]] = []
    tot = None
    try:
        if mode == "fixed_pt":
            netx_path, float_net = str(write_netx(net, work / "net.h5")), None
            shapes = [q.out_shape for q in net.quantized]
        else:
            netx_path, float_net = None, str(save_float_conv_spec(net, work / "net.npz"))
            shapes = [l.out_shape for l in net.layers]
        for s in range(0, n, chunk):
            x = encode(net, images[s:s + chunk])  # (T, N, C, H, W)
            out, st = run_netx_conv_windows(
                netx_path, np.transpose(x, (1, 0, 2, 3, 4)), shapes,
                input_message_bits=net.encoder.message_bits, timeout_s=timeout_s,
                mode=mode, float_net=float_net)
            outs.append(out)
            if tot is None:
                tot = st
            else:
                for f in ("windows", "n_steps", "import_s", "build_s", "run_s", "stop_s", "wall_s"):
                    setattr(tot, f, getattr(tot, f) + getattr(st, f))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    spikes = [np.concatenate([o[k] for o in outs], axis=0) for k in range(len(net.layers))]
    return [np.ascontiguousarray(np.transpose(s, (1, 0, 2, 3, 4))) for s in spikes], tot
