"""Online Hebbian FF learning on the Lava CPU simulator (``floating_pt``), with the host out of
the loop: input spikes and the per-sample polarity stream in from files, ``LearningDense``
applies ``dW_ij = eta M_j l_j x_i`` every step, where :class:`HebbianLIF` computes the layer's
modulator ``M`` from its own output traces (see ``export/lava_procs/process.py``).

Timing on the chip (and in :func:`reference_learning`, which mirrors it): at time step ``t`` the
source sends input row ``t - 1``; the Dense's output reaches the neurons one step later, so the
neurons process row ``t - 2`` and reset every ``T`` steps when ``t % T == 2 % T``; the
learning phase of step ``t`` pairs the presynaptic spikes of row ``t - 1`` (``x1``, a trace that
forgets at once) with the post traces the neurons produced at ``t``. Samples are separated by
one empty row so that no update pairs two different samples.
"""
from __future__ import annotations

import math
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .lava_runner import run_worker

#: Lava's 3-factor rule keeps y traces with tau = 65535: one step of decay before use.
Y_DECAY = math.exp(-1.0 / 65535)


@dataclass
class OnChipRule:
    """Parameters of the on-chip neo-Hebbian rule (a single HebbianLIF layer)."""

    dv: float
    vth: float
    trace: str = "li"
    tau: float = 0.85
    mu: float = 0.15
    probability: str = "symmetric"
    theta: float = 2.0
    alpha: float = 6.0
    eps: float = 0.01
    cross_term: bool = True
    eta: float = 0.5


def streams(inputs: np.ndarray, polarity: np.ndarray) -> Tuple[np.ndarray, np.ndarray, int]:
    """Input rows ``(N * W, n_in)`` and the polarity stream ``(N * W,)`` for samples of
    ``inputs`` (N, T, n_in) with per-step polarity (N, T); ``W = T + 1`` (one empty row)."""
    N, T, n = inputs.shape
    W = T + 1
    rows = np.zeros((N, W, n), dtype=np.uint8)
    rows[:, :T] = inputs
    pol_rows = np.zeros((N, W))
    pol_rows[:, :T] = polarity
    pol_rows = pol_rows.reshape(-1)
    # The neurons see row t - 2 at step t; the polarity source is read at step t (row t - 1).
    stream = np.concatenate([[0.0], pol_rows[:-1]])
    return rows.reshape(N * W, n), stream, W


def reference_learning(w0: np.ndarray, inputs: np.ndarray, polarity: np.ndarray,
                       rule: OnChipRule, snapshot_every: Optional[int] = None):
    """numpy model of exactly what the Lava network computes (floating_pt); returns the final
    weights and the snapshots after every ``snapshot_every`` samples."""
    from ff_neuro.training.hebbian import modulator, trace_step
    rows, stream, W = streams(inputs, polarity)
    N = inputs.shape[0]
    n_steps = rows.shape[0] + 1
    w = np.array(w0, dtype=np.float64)
    a_buff = np.zeros(w.shape[0])
    v = np.zeros(w.shape[0])
    l = np.zeros(w.shape[0])
    snaps = []
    for t in range(1, n_steps + 1):
        s_in = rows[(t - 1) % rows.shape[0]].astype(np.float64)
        a_in = a_buff
        a_buff = w @ s_in
        if t % W == 2 % W:
            v[:] = 0.0
            l[:] = 0.0
        v = v * (1.0 - rule.dv) + a_in
        s = v > rule.vth
        v[s] = 0.0
        l = trace_step(l[None], s[None].astype(float), rule.trace, rule.tau, rule.mu)[0]
        pol = stream[(t - 1) % stream.shape[0]]
        if pol != 0:
            m = modulator(l[None], np.array([1.0 if pol > 0 else 0.0]), rule.probability,
                          rule.theta, rule.alpha, rule.eps, rule.cross_term)[0]
            ml = rule.eta * m * l
            w += np.outer((np.maximum(ml, 0) - np.maximum(-ml, 0)) * Y_DECAY, s_in)
        if snapshot_every and t % (snapshot_every * W) == 1 and t > 1:
            snaps.append(w.copy())
    return w, snaps


def run_lava_learning(w0: np.ndarray, inputs: np.ndarray, polarity: np.ndarray,
                      rule: OnChipRule, *, snapshot_every: Optional[int] = None,
                      mode: str = "floating_pt", timeout_s: float = 1800.0
                      ) -> Tuple[np.ndarray, List[np.ndarray], dict]:
    """Learn online on the Lava CPU simulator; one compile, runs in chunks of
    ``snapshot_every`` samples with a weight snapshot after each. Returns (final W, snapshots,
    stats)."""
    if mode != "floating_pt":
        raise ValueError("on-chip Hebbian learning runs in floating_pt so far (fixed_pt: see "
                         "the issue notes)")
    rows, stream, W = streams(inputs, polarity)
    N = inputs.shape[0]
    work = Path(tempfile.mkdtemp(prefix="ff-neuro-learn-"))
    try:
        np.save(work / "rows.npy", rows)
        np.save(work / "polarity.npy", stream)
        np.save(work / "w0.npy", np.asarray(w0, dtype=np.float64))
        per = snapshot_every or N
        chunks = [per * W] * (N // per) + ([(N % per) * W] if N % per else [])
        chunks[0] += 1  # the neurons see the last row one step late
        req = {"rows": str(work / "rows.npy"), "polarity": str(work / "polarity.npy"),
               "w0": str(work / "w0.npy"), "window": W, "chunks": chunks,
               "rule": asdict(rule), "out_dir": str(work)}
        t0 = time.perf_counter()
        res = run_worker("ff_neuro.export.lava_learn_worker", work, req,
                         what=f"on-chip learning, {mode}, {N} samples", timeout_s=timeout_s)
        snaps = [np.load(work / f"w_{i}.npy") for i in range(len(chunks))]
        stats = {"samples": N, "steps": int(sum(chunks)), "run_s": res["run_s"],
                 "compile_and_run_s": time.perf_counter() - t0, "compiles": 1,
                 "samples_per_s": N / res["run_s"],
                 "ms_per_step": 1000 * res["run_s"] / sum(chunks)}
        return snaps[-1], snaps, stats
    finally:
        shutil.rmtree(work, ignore_errors=True)


def learning_trial(ds, samples: int = 1000, *, eval_samples: int = 200, every: int = 100,
                   model=None, cfg=None, eta: float = 0.5, mode: str = "floating_pt",
                   timeout_s: float = 3600.0, seed: int = 0, compare_torch: bool = True,
                   log=print) -> dict:
    """An online Hebbian FF learning trial on the simulated chip (one HebbianLIF layer).

    ``samples`` training samples stream through Lava once (50/50 positive / negative, wrong
    label ``(y + U{1..C-1}) mod C``, updates in the late window ``t >= update_from_step``); the
    weights are read every ``every`` samples and scored on ``eval_samples`` held-out test
    samples (argmax of the symmetric probability, or of goodness for ``sigmoid``), which gives
    the learning curve. Starting weights: the first layer of ``model`` (an FFNetwork trained
    with ``--algo hebbian``) or the Hebbian trainer's random init. With ``compare_torch`` the
    host trainer (``HebbianTrainer``, online, same start and samples) learns the same stream
    for comparison.
    """
    from ff_neuro.training.hebbian import HebbianConfig, HebbianTrainer
    cfg = cfg or HebbianConfig(seed=seed)
    trainer = HebbianTrainer(cfg, ds)
    if model is not None:
        w = model.layers[0].weight
        if w.shape != trainer.WT[0].T.shape:
            raise ValueError(f"model layer 0 is {w.shape}, the trial needs "
                             f"{trainer.WT[0].T.shape} (hidden={cfg.hidden})")
        trainer.WT[0] = np.ascontiguousarray(w.T.astype(np.float32))
    w0 = trainer.WT[0].T.astype(np.float64)
    rng = np.random.default_rng([seed, 11])
    n = min(samples, ds.x_train.shape[0])
    idx = rng.permutation(ds.x_train.shape[0])[:n]
    y = ds.y_train[idx]
    pos = rng.random(n) < 0.5
    lab = np.where(pos, y, (y + rng.integers(1, ds.n_classes, n)) % ds.n_classes)
    spikes = trainer.inputs(ds.x_train[idx], lab, seed_offset=1)  # (T, n, n_in)
    T = spikes.shape[0]
    pol = np.zeros((n, T))
    pol[:, cfg.update_from_step:] = np.where(pos, 1.0, -1.0)[:, None]
    rule = OnChipRule(dv=float(trainer.v_decay), vth=float(cfg.threshold), trace=cfg.trace,
                      tau=cfg.trace_tau, mu=float(trainer.mu), probability=cfg.probability,
                      theta=cfg.theta, alpha=cfg.alpha, eps=cfg.eps,
                      cross_term=cfg.cross_term, eta=eta)
    x_ev, y_ev = ds.x_test[:eval_samples], ds.y_test[:eval_samples]

    def score(w: np.ndarray) -> float:
        trainer.WT[0] = np.ascontiguousarray(w.T.astype(np.float32))
        return trainer.accuracy(x_ev, y_ev)

    log(f"Lava {mode}: {n} samples x {T + 1} steps, {w0.shape[1]} -> {w0.shape[0]} "
        f"LearningDense + HebbianLIF, one compile")
    w_end, snaps, stats = run_lava_learning(w0, np.transpose(spikes, (1, 0, 2)), pol, rule,
                                            snapshot_every=every, mode=mode,
                                            timeout_s=timeout_s)
    curve = [{"samples": 0, "accuracy": score(w0)}]
    for i, w in enumerate(snaps):
        curve.append({"samples": min(n, (i + 1) * every), "accuracy": score(w)})
    out = {"mode": mode, "samples_learned": n, "final_accuracy": curve[-1]["accuracy"],
           "samples_per_s": stats["samples_per_s"], "ms_per_step": stats["ms_per_step"],
           "compiles": 1, "curve": curve, "eval_samples": int(x_ev.shape[0]),
           "start": "model" if model is not None else "random", "rule": asdict(rule),
           "weight_change_l1": float(np.abs(w_end - w0).sum())}
    if compare_torch:
        host = HebbianTrainer(HebbianConfig(**{**cfg.to_dict(), "tau_e": 0.0, "lr": eta,
                                               "hidden": tuple(cfg.hidden)}), ds)
        host.WT[0] = np.ascontiguousarray(w0.T.astype(np.float32))
        t = time.perf_counter()
        for i in range(n):
            host.present(spikes[:, i:i + 1], positive=pos[i:i + 1].astype(float), learn=True)
        secs = time.perf_counter() - t
        out["host_rule"] = {"accuracy": host.accuracy(x_ev, y_ev), "seconds": secs,
                            "note": "HebbianTrainer online (K = 1, no eligibility trace, "
                                    "same start, samples, spikes and eta); its timing pairs "
                                    "x(t) with l(t), the chip pairs x(t) with l(t - 1)"}
    return out
