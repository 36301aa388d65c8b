"""``ff-neuro train --processes N`` and ``--members N``: spiking FF on several processes.

``--processes N`` starts torchrun on :func:`train_job`
(:func:`ff_neuro.training.distributed.launch`): each process runs the same ``ff-neuro train``
steps data-parallel, rank 0 evaluates and saves, and its summary comes back here. ``--members N`` trains N networks, one process each, and saves
them merged (:func:`ff_neuro.training.distributed.train_members`).
"""
from __future__ import annotations

import time

import click


def train_processes(processes: int, algo: str, dataset: str, data_dir, cfg, device, threads,
                    max_minutes, checkpoint, resume: bool, out, readout: bool) -> dict:
    """Train data-parallel in ``processes`` processes started by torchrun; rank 0's summary."""
    from ..training.distributed import LaunchError, launch, resolve_device
    try:
        resolve_device(device)            # a device that is not there: refused before starting
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    payload = {"algo": algo, "dataset": dataset,
               "data_dir": None if data_dir is None else str(data_dir),
               "config": cfg.to_dict(), "device": str(device), "threads": threads,
               "max_minutes": max_minutes, "checkpoint": str(checkpoint), "resume": resume,
               "out": str(out), "readout": readout}
    try:
        d = launch("ff_neuro.cli._parallel:train_job", payload, processes)
    except (LaunchError, ValueError, FileNotFoundError, TypeError) as exc:
        raise click.ClickException(str(exc)) from exc
    d["processes"] = processes
    return d


def train_job(payload: dict, _dataset):
    """What each torchrun process runs for ``--processes``: the ``ff-neuro train`` steps,
    data-parallel; rank 0 returns the summary, the others None."""
    from ..training.trainer import config_class
    from ._common import _load_dataset
    from .train import _train
    ds = _load_dataset(payload["dataset"], payload["data_dir"])
    cfg = config_class(payload["algo"])(**payload["config"])
    return _train(payload["algo"], ds, cfg, device=payload["device"],
                  threads=payload["threads"], max_minutes=payload["max_minutes"],
                  checkpoint=payload["checkpoint"], resume=payload["resume"],
                  out=payload["out"], readout=payload["readout"])


def train_members(members: int, ds, cfg, device, threads, max_minutes, checkpoint,
                  resume: bool, out, readout: bool) -> dict:
    """Train ``members`` networks at once, merge, evaluate and save them; the summary."""
    from ..model import save_model
    from ..pipeline import attach_readout
    from ..run import get_backend, label_sweep, one_pass
    from ..training.distributed import LaunchError, member_checkpoint
    from ..training.distributed import train_members as _members
    t = time.perf_counter()
    try:
        net = _members(ds, members, config=cfg, device=device, threads=threads,
                       max_minutes=max_minutes, checkpoint=checkpoint, resume=resume,
                       progress=True)
    except (LaunchError, ValueError, FileNotFoundError, TypeError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    wall = (time.perf_counter() - t) / 60
    hist = [m["history"] for m in net.training["members"]]
    flt = get_backend("float")
    acc = label_sweep(flt, net, ds.x_test).accuracy(ds.y_test)
    acc_ro = None
    if readout:
        attach_readout(net, ds, progress=True)
        acc_ro = one_pass(flt, net, ds.x_test,
                          readout=net.get_readout("linear")).accuracy(ds.y_test)
    save_model(net, out)
    d = {"model": str(out), "algo": "ff", "dataset": ds.name, "members": members,
         "seeds": [m["config"]["seed"] for m in net.training["members"]],
         "sizes": net.sizes, "epochs": min(len(h["loss"]) for h in hist),
         "member_epochs": [len(h["loss"]) for h in hist],
         "train_minutes": max(h["seconds"] for h in hist) / 60,
         "wall_minutes_this_run": wall,
         "checkpoint": [str(member_checkpoint(checkpoint, i)) for i in range(members)],
         "config": cfg.to_dict(), "test_accuracy_float": acc,
         "test_accuracy_float_readout": acc_ro}
    ro = "" if acc_ro is None else f", {acc_ro:.4f} (linear readout)"
    d["_text"] = (f"saved {out}: {members} members merged; float test accuracy {acc:.4f} "
                  f"(label sweep){ro}; {d['epochs']} epochs, {d['train_minutes']:.1f} min "
                  "training")
    return d
