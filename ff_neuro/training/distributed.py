"""Spiking FF training on several processes: data-parallel steps and parallel ensemble members.

**Data-parallel training.** FF's losses are per sample and layer-local, so a batch splits over
processes exactly: every process draws the same epoch permutation and the same per-batch random
choices (negative labels, softmax candidates, dropout masks, input spikes) *for the whole global
batch* from the same ``(seed, epoch)`` generator, computes the loss of its shard of the batch
(:func:`shard`) scaled by the shard's share of the batch, and the gradients are summed over the
processes (:func:`all_reduce_gradients`) before every process takes the same Adam step. The
result is the one-process training of the global batch, to float tolerance (only the order of
the gradient sums differs), whatever the number of processes. Launch it with ``torchrun`` (gloo
on CPUs, nccl on GPUs)::

    torchrun --nproc_per_node 2 -m ff_neuro.cli train --dataset digits --out m.h5
    ff-neuro train --processes 2 --dataset digits --out m.h5     # starts torchrun itself

or from Python, in a script that torchrun starts::

    >>> tr = FFTrainer(cfg, ds, data_parallel=True)                  # doctest: +SKIP
    >>> net = tr.fit(checkpoint="run.ckpt.h5")   # rank 0 writes the checkpoint  # doctest: +SKIP
    >>> finish()                                 # leave the process group  # doctest: +SKIP

Over hundreds of steps, rounding differences (the order of the sums, one torch thread per
process) flip the odd spike near threshold, and Adam carries the change on: long runs end a few
learning rates apart, as one process does between one thread and two.

**Ensemble members.** :func:`train_members` trains ``n`` networks with their own seeds, one
process each, and merges them into one network (:func:`~ff_neuro.model.merge.merge_networks`).
The members need no process group: each process writes its members as model files (HDF5) and
the caller merges them once torchrun has returned.

:func:`launch` is the launcher behind both: it starts ``torchrun`` (``python -m
torch.distributed.run --standalone``) on a function named ``"module:function"`` and returns
rank 0's result.
"""
from __future__ import annotations

import collections
import dataclasses
import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional, Sequence, Tuple

import numpy as np
import torch

# -- where this process stands -----------------------------------------------------------------


def _dist():
    import torch.distributed as dist
    return dist if dist.is_available() else None


def launched() -> bool:
    """True in a process that ``torchrun`` started with more than one process
    (``WORLD_SIZE`` > 1 in the environment)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_distributed() -> bool:
    """True when a ``torch.distributed`` process group of more than one process is running."""
    dist = _dist()
    return bool(dist is not None and dist.is_initialized() and dist.get_world_size() > 1)


def rank() -> int:
    """This process's rank: from the process group, else torchrun's ``RANK``, else 0."""
    dist = _dist()
    if dist is not None and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    """The number of processes: from the process group, else torchrun's ``WORLD_SIZE``, else 1."""
    dist = _dist()
    if dist is not None and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_rank() -> int:
    """This process's rank on its machine (torchrun's ``LOCAL_RANK``; 0 without torchrun)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def resolve_device(device="cpu") -> torch.device:
    """``device`` as a ``torch.device``, refused in one line (RuntimeError) when it is not there.

    Under torchrun a bare ``"cuda"`` means this process's GPU (``cuda:LOCAL_RANK``, modulo the
    GPUs there are).

    Example::

        >>> resolve_device("cpu")
        device(type='cpu')
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise RuntimeError(f"device {device!r} is not a torch device (cpu, cuda, cuda:1)") \
            from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {str(device)!r} asked for, but torch sees no CUDA GPU "
                               f"(torch {torch.__version__}); use device='cpu'")
        n = torch.cuda.device_count()
        if dev.index is None and launched():
            dev = torch.device("cuda", local_rank() % n)
        if dev.index is not None and dev.index >= n:
            raise RuntimeError(f"device {str(device)!r} asked for, but torch sees {n} CUDA "
                               f"GPU{'s' if n != 1 else ''} (cuda:0..cuda:{n - 1})")
    elif dev.type != "cpu":
        try:
            torch.empty(1, device=dev)
        except (RuntimeError, AssertionError) as exc:
            raise RuntimeError(f"device {str(device)!r} is not available here: "
                               f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                               ) from exc
    return dev


def init(device="cpu", backend: Optional[str] = None) -> torch.device:
    """Join the process group torchrun set up (once; no-op without torchrun) and return this
    process's device (:func:`resolve_device`). ``backend``: ``"nccl"`` for a CUDA device,
    else ``"gloo"``, unless given.

    Example::

        >>> init("cpu")        # one process: nothing to join
        device(type='cpu')
    """
    dev = resolve_device(device)
    dist = _dist()
    if launched() and dist is not None and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        backend = backend or ("nccl" if dev.type == "cuda" else "gloo")
        dist.init_process_group(backend=backend)
    return dev


#: the tensors of the last collectives, held until the next ones (see :func:`_keep`)
_RECENT: collections.deque = collections.deque(maxlen=8)


def _keep(*tensors: torch.Tensor) -> None:
    """Hold the tensors of a collective after it returns. gloo's worker thread drops its
    reference to them a moment after the collective ends; were it the last one, that thread
    would need the GIL to free a Python tensor, while :func:`finish`, holding the GIL, waits for
    the thread: a deadlock at exit. Held here, they are freed by this (the main) thread."""
    _RECENT.append(tensors)


def finish() -> None:
    """Leave the process group (after a barrier), if this process joined one."""
    dist = _dist()
    if dist is not None and dist.is_initialized():
        if dist.get_world_size() > 1:
            dist.barrier()
        dist.destroy_process_group()
    _RECENT.clear()


def _comm_device() -> torch.device:
    """Where the group's collectives take tensors: this process's GPU for nccl, else the CPU."""
    dist = _dist()
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


# -- data-parallel pieces --------------------------------------------------------------------------


def shard(n: int, rank_: Optional[int] = None, world: Optional[int] = None
          ) -> Tuple[np.ndarray, float]:
    """This process's rows of a global batch of ``n`` and their share of it: ``(rows, weight)``.

    The rows are contiguous, sizes differing by at most one (``np.array_split``); a process
    left without rows (``n`` below the number of processes) gets row 0 with weight 0, so that it
    draws and computes like the others but adds nothing.

    Example::

        >>> shard(5, rank_=1, world=2)
        (array([3, 4]), 0.4)
    """
    r = rank() if rank_ is None else rank_
    w = world_size() if world is None else world
    rows = np.array_split(np.arange(n), w)[r]
    if rows.size == 0:
        return np.zeros(1, dtype=np.int64), 0.0
    return rows, rows.size / n


def all_reduce_(t: torch.Tensor, op: str = "sum") -> torch.Tensor:
    """Reduce ``t`` in place over the processes (``"sum"`` or ``"max"``); ``t`` itself without
    a process group."""
    if not is_distributed():
        return t
    dist = _dist()
    dev = _comm_device()
    buf = t if t.device == dev else t.to(dev)
    _keep(buf)
    dist.all_reduce(buf, op={"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX}[op])
    if buf is not t:
        t.copy_(buf)
    return t


def all_reduce_gradients(params: Sequence[torch.Tensor],
                         extra: Optional[torch.Tensor] = None) -> Optional[torch.Tensor]:
    """Sum the gradients of ``params`` (and the float32 vector ``extra``, e.g. per-process
    losses) over the processes, in one collective; returns the summed ``extra``. A parameter
    without a gradient counts as a zero gradient."""
    params = list(params)
    parts = [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params]
    if extra is not None:
        parts.append(extra.to(device=parts[0].device if parts else extra.device,
                              dtype=torch.float32).reshape(-1))
    flat = torch.cat(parts)
    all_reduce_(flat, "sum")
    i = 0
    for p in params:
        g = flat[i:i + p.numel()].view_as(p)
        if p.grad is None:
            p.grad = g.clone()
        else:
            p.grad.copy_(g)
        i += p.numel()
    return None if extra is None else flat[i:]


def agree_max(*values: float) -> Tuple[float, ...]:
    """The largest of every value over the processes (every process gets the same numbers:
    e.g. the slowest process's epoch time, so that all train one schedule)."""
    t = torch.tensor(values, dtype=torch.float64)
    all_reduce_(t, "max")
    return tuple(float(v) for v in t)


def agree_any(flag: bool) -> bool:
    """True on every process when ``flag`` is true on any (e.g. a callback asks to stop)."""
    return bool(agree_max(float(bool(flag)))[0])


def rank0_value(value: float) -> float:
    """Rank 0's ``value`` on every process."""
    if not is_distributed():
        return value
    t = torch.tensor([float(value)], dtype=torch.float64, device=_comm_device())
    _keep(t)
    _dist().broadcast(t, src=0)
    return float(t[0])


# -- the launcher ------------------------------------------------------------------------------


def _save_dataset(ds, path: Path) -> Path:
    np.savez(path, x_train=ds.x_train, y_train=ds.y_train, x_test=ds.x_test, y_test=ds.y_test,
             meta=np.array(json.dumps({"name": ds.name, "n_classes": int(ds.n_classes),
                                       "image_shape": list(ds.image_shape),
                                       "source": ds.source})))
    return path


def _load_dataset(path):
    from ..data.datasets import Dataset
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        return Dataset(name=meta["name"], x_train=z["x_train"], y_train=z["y_train"],
                       x_test=z["x_test"], y_test=z["y_test"], n_classes=meta["n_classes"],
                       image_shape=tuple(meta["image_shape"]), source=meta["source"])


def _target(name: str):
    module, _, fn = name.partition(":")
    if not fn:
        raise ValueError(f"a launch target is 'module:function', got {name!r}")
    return getattr(importlib.import_module(module), fn)


class LaunchError(RuntimeError):
    """A process that :func:`launch` started failed; the message is its error."""


def _stderr_fd():
    """The workers' stdout goes to stderr: this process's stdout stays for its own report."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def launch(target: str, payload: dict, processes: int, dataset=None,
           timeout_s: Optional[float] = None) -> Any:
    """Run ``target(payload, dataset)`` in ``processes`` processes started by torchrun and
    return rank 0's result.

    ``target`` is ``"module:function"``; ``payload`` a JSON-able dict; ``dataset`` (a
    :class:`~ff_neuro.data.Dataset` or None) travels as an ``.npz`` file. The function runs
    with torchrun's environment (``RANK``, ``WORLD_SIZE``, ...; one torch thread per process
    unless ``OMP_NUM_THREADS`` is set) and joins the process group itself (:func:`init`); its
    return value on rank 0 must be JSON-able. An exception in any process is raised here with
    its message (as :class:`LaunchError`, or the same ValueError / FileNotFoundError).

    Example::

        >>> launch("ff_neuro.training.distributed:_world_job", {}, processes=2)  # doctest: +SKIP
        {'world_size': 2}
    """
    from .. import checks
    processes = checks.count("processes", processes)
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="ff-neuro-launch-") as tmp:
        tmp = Path(tmp)
        job = {"target": target, "payload": payload, "results": str(tmp),
               "dataset": None if dataset is None else str(_save_dataset(dataset,
                                                                          tmp / "data.npz"))}
        (tmp / "job.json").write_text(json.dumps(job))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(root)] + ([env["PYTHONPATH"]]
                                                           if env.get("PYTHONPATH") else []))
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={int(processes)}", "--no-python", sys.executable, "-c",
               _WORKER, str(tmp / "job.json")]
        try:
            proc = subprocess.run(cmd, env=env, timeout=timeout_s, stdout=_stderr_fd())
        except subprocess.TimeoutExpired as exc:
            raise LaunchError(f"the {processes} processes did not finish within "
                              f"{timeout_s:g} s") from exc
        errors = sorted(tmp.glob("error.*.json"))
        if errors:
            err = json.loads(errors[0].read_text())
            kind = {"ValueError": ValueError, "FileNotFoundError": FileNotFoundError,
                    "TypeError": TypeError}.get(err["type"], LaunchError)
            raise kind(err["message"])
        result = tmp / "result.json"
        if proc.returncode != 0 or not result.exists():
            raise LaunchError(f"torchrun exited with code {proc.returncode} (its output is "
                              "above)")
        return json.loads(result.read_text())["result"]


def _plain(obj):
    """numpy scalars and arrays for ``json.dumps``."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


#: what each process torchrun starts for :func:`launch` runs
_WORKER = ("import sys; from ff_neuro.training.distributed import _worker; "
           "sys.exit(_worker(sys.argv[1]))")


def _worker(job_path: str) -> int:
    """The process torchrun starts for :func:`launch`."""
    job = json.loads(Path(job_path).read_text())
    results = Path(job["results"])
    try:
        ds = None if job["dataset"] is None else _load_dataset(job["dataset"])
        result = _target(job["target"])(job["payload"], ds)
        if rank() == 0:
            tmp = results / "result.json.tmp"
            tmp.write_text(json.dumps({"result": result}, default=_plain))
            tmp.rename(results / "result.json")
        return 0
    except BaseException as exc:  # noqa: BLE001 - any failure, reported to the launcher
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        (results / f"error.{rank()}.json").write_text(json.dumps(
            {"type": type(exc).__name__, "message": message, "rank": rank()}))
        raise
    finally:
        finish()


def _world_job(payload: dict, dataset) -> dict:
    """A launch target that joins the group and reports its size (a smoke test)."""
    init("cpu")
    return {"world_size": world_size()}


# -- ensemble members --------------------------------------------------------------------------


def member_checkpoint(checkpoint, index: int) -> Optional[Path]:
    """Member ``index``'s checkpoint file next to ``checkpoint``: ``run.ckpt.h5`` ->
    ``run.ckpt.member0.h5`` (None without one)."""
    if checkpoint is None:
        return None
    p = Path(checkpoint)
    return p.with_name(f"{p.stem}.member{index}{p.suffix}")


def _train_member(cfg, ds, index: int, seed: int, device, threads, max_minutes, checkpoint,
                  resume, progress):
    from .ff import FFTrainer
    from .trainer import fit_with_budget
    if threads is not None:
        torch.set_num_threads(int(threads))
    tr = FFTrainer(dataclasses.replace(cfg, seed=int(seed)), ds, device=device)
    ckpt = member_checkpoint(checkpoint, index)
    net, _ = fit_with_budget(tr, max_minutes, progress=progress, checkpoint=ckpt,
                             resume=bool(resume and ckpt is not None and ckpt.exists()))
    return net


def _members_job(payload: dict, ds) -> dict:
    """Launch target of :func:`train_members`: rank r trains members r, r + P, ... and writes
    each to ``member<i>.h5`` in the caller's folder (no process group: nothing to exchange)."""
    from ..config import FFTrainConfig
    from ..model import save_model
    r, p = rank(), world_size()
    cfg = FFTrainConfig(**payload["config"])
    seeds = payload["seeds"]
    mine = list(range(r, len(seeds), p))
    for i in mine:
        net = _train_member(cfg, ds, i, seeds[i], payload["device"], payload["threads"],
                            payload["max_minutes"], payload["checkpoint"], payload["resume"],
                            payload["progress"] and r == 0)
        save_model(net, Path(payload["folder"]) / f"member{i}.h5")
    return {"members": mine}


def train_members(dataset, n: int = 2, config=None, processes: Optional[int] = None,
                  seeds: Optional[Sequence[int]] = None, device: str = "cpu",
                  threads: Optional[int] = None, max_minutes: Optional[float] = None,
                  checkpoint=None, resume: bool = False, progress: bool = False,
                  timeout_s: Optional[float] = None, **fields):
    """Train ``n`` spiking FF networks at once, one per process, and merge them into one
    :class:`~ff_neuro.model.Network` (:func:`~ff_neuro.model.merge.merge_networks`: layer 1
    stacked, deeper layers block-diagonal, the label sweep sums their goodness).

    ``config`` (an :class:`~ff_neuro.config.FFTrainConfig`) or config ``fields`` set the
    members; member ``i`` gets seed ``seeds[i]`` (default ``config.seed + i``).
    ``processes`` (default ``n``): the processes torchrun starts (each trains members ``r, r
    + processes, ...``; 1 trains them one after another in this process). ``threads``: torch
    threads per process (default: one per process under torchrun). ``max_minutes``: each
    member's training-time budget (:func:`~ff_neuro.training.trainer.fit_with_budget`).
    ``checkpoint``: member ``i`` checkpoints to :func:`member_checkpoint` of it, and ``resume``
    continues the members that have one. Member ``i`` of the result equals a one-process
    ``FFTrainer`` run with seed ``seeds[i]``.

    Example::

        >>> import ff_neuro as ffn
        >>> net = train_members(ffn.load_dataset("digits"), 2, hidden=(32,), epochs=2,
        ...                     time_steps=4)                               # doctest: +SKIP
        >>> net.sizes                                                       # doctest: +SKIP
        [74, 64]
    """
    from ..config import FFTrainConfig
    from .trainer import make_config
    if config is not None and fields:
        raise TypeError("give a config object or config fields, not both")
    cfg = config if config is not None else make_config("ff", **fields)
    if not isinstance(cfg, FFTrainConfig):
        raise TypeError(f"members train with an FFTrainConfig, got {type(cfg).__name__}")
    n = int(n)
    if n < 2:
        raise ValueError(f"an ensemble needs at least 2 members, got {n}")
    seeds = [cfg.seed + i for i in range(n)] if seeds is None else [int(s) for s in seeds]
    if len(seeds) != n or len(set(seeds)) != n:
        raise ValueError(f"give {n} different seeds, one per member (got {seeds})")
    processes = n if processes is None else int(processes)
    if not 1 <= processes <= n:
        raise ValueError(f"processes must be between 1 and the {n} members, got {processes}")
    resolve_device(device)                # a missing device is refused before training
    if processes == 1:
        from ..model.merge import merge_networks
        return merge_networks([_train_member(cfg, dataset, i, s, device, threads, max_minutes,
                                             checkpoint, resume, progress)
                               for i, s in enumerate(seeds)])
    from ..model import load_model
    from ..model.merge import merge_networks
    with tempfile.TemporaryDirectory(prefix="ff-neuro-members-") as tmp:
        payload = {"config": cfg.to_dict(), "seeds": seeds, "device": str(device),
                   "threads": threads, "max_minutes": max_minutes,
                   "checkpoint": None if checkpoint is None else str(checkpoint),
                   "resume": bool(resume), "progress": bool(progress), "folder": tmp}
        launch("ff_neuro.training.distributed:_members_job", payload, processes,
               dataset=dataset, timeout_s=timeout_s)
        return merge_networks([load_model(Path(tmp) / f"member{i}.h5") for i in range(n)])

