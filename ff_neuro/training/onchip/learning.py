"""Online Hebbian FF learning on the Lava CPU simulator (``floating_pt``), with the host out of
the loop: input spikes and the per-sample polarity stream in from files, ``LearningDense``
applies ``dW_ij = eta M_j l_j x_i`` every step, where :class:`HebbianLIF` computes the layer's
modulator ``M`` from its own output traces (see :mod:`ff_neuro.training.onchip.procs.process`).

Timing on the chip (and in the emulator, :mod:`ff_neuro.training.onchip.emulator`, which
mirrors it bit for bit without Lava): at time step ``t`` the
source sends input row ``t - 1``; the Dense's output reaches the neurons one step later, so the
neurons process row ``t - 2`` and reset every ``T`` steps when ``t % T == 2 % T``; the
learning phase of step ``t`` pairs the presynaptic spikes of row ``t - 1`` (``x1``, a trace that
forgets at once) with the post traces the neurons produced at ``t``. Samples are separated by
one empty row so that no update pairs two different samples.

``fixed_pt`` (:func:`quantize_start`, :mod:`ff_neuro.training.onchip.fixed`): integer weights ``S`` per
float unit (``w_q = 2 round(S w / 2)``, even so that LearningDense's one-time truncation of the
LSB keeps them; threshold ``vth_q = round(S vth)``), Lava's integer LIF, 7-bit traces and the
third factor as 7-bit ``y2``/``y3`` in units of ``2^y_exp`` weight units; the LearningDense
(bit-approximate fixed_pt model) adds them with stochastic rounding (one random number per step)
and saturates weights to [-256, 255]. :func:`learning_trial` reports the deviation from the
float reference rule run from the same (dequantized) start on the same input spikes.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ...run.lava.supervisor import run_worker

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
    """numpy model of exactly what the Lava network computes (floating_pt): the emulator's
    floating_pt mode (:func:`ff_neuro.training.onchip.emulator.run_emulated_learning`). Returns
    the final weights and the snapshots after every ``snapshot_every`` samples (and after the
    last sample), none without ``snapshot_every``."""
    from .emulator import run_emulated_learning
    w, snaps, _ = run_emulated_learning(w0, inputs, polarity, rule,
                                        snapshot_every=snapshot_every, mode="floating_pt")
    return w, (snaps if snapshot_every else [])


def reference_learning_fixed(w0_q: np.ndarray, inputs: np.ndarray, polarity: np.ndarray,
                             rule: OnChipRule, weight_scale: float, y_exp: int = -6,
                             snapshot_every: Optional[int] = None):
    """numpy model of the fixed_pt network with *exact* weight updates: the integer HebbianLIF
    of :mod:`ff_neuro.training.onchip.fixed` and ``W += (y2 - y3) 2^y_exp`` for every spiking input,
    saturated to [-256, 255], but without the LearningDense's stochastic rounding (weights stay
    fractional; the input current is rounded to an integer) and without the rare stochastic
    one-step decay of the y traces. With ``y_exp = 0`` every update is an integer and Lava's
    fixed_pt run differs only by those rare y decrements. Returns (final W, snapshots, neuron
    statistics as in ``FIXED_STATS``)."""
    from .fixed import (FIXED_STATS, FixedHebbianParams, lif_step, new_stats, neuron_tail)
    q = FixedHebbianParams.from_rule({**asdict(rule), "weight_scale": weight_scale,
                                      "y_exp": y_exp})
    rows, stream, W = streams(inputs, polarity)
    n_steps = rows.shape[0] + 1
    w = np.array(w0_q, dtype=np.float64)
    unit = 2.0 ** y_exp
    a_buff = np.zeros(w.shape[0], dtype=np.int64)
    v = np.zeros(w.shape[0], dtype=np.int64)
    l = np.zeros(w.shape[0], dtype=np.int64)
    st = new_stats()
    n = w.shape[0]
    y, y_exact = np.zeros(n, np.int64), np.zeros(n)
    y2, y3 = np.zeros(n, np.int64), np.zeros(n, np.int64)
    snaps = []
    for t in range(1, n_steps + 1):
        on = np.flatnonzero(rows[(t - 1) % rows.shape[0]])
        a_in = a_buff
        a_buff = np.round(w[:, on].sum(axis=1)).astype(np.int64)
        if t % W == 2 % W:
            v[:] = 0
            l[:] = 0
        s = lif_step(v, a_in, q)
        pol = stream[(t - 1) % stream.shape[0]]
        neuron_tail(l, s, int(pol), *q.kernel_args(), y, y_exact, y2, y3, st)
        sent = y2 - y3
        if pol != 0 and on.size and sent.any():
            w[:, on] = np.clip(w[:, on] + (sent * unit)[:, None], -256, 255)
        if snapshot_every and t % (snapshot_every * W) == 1 and t > 1:
            snaps.append(w.copy())
    st = dict(zip(FIXED_STATS, st.tolist()))
    return w, snaps, st


MODES = ("floating_pt", "fixed_pt")


def quantize_start(w0: np.ndarray, threshold: float, weight_scale: Optional[float] = None,
                   headroom: float = 128.0) -> Tuple[np.ndarray, float, int]:
    """Integer start weights for fixed_pt: ``(w_q, S, vth_q)``.

    ``S`` (integer weight units per float unit) defaults to ``vth_q / threshold`` with ``vth_q =
    round(threshold headroom / max|w0|)``: the largest start weight maps to about ``headroom``
    (half of the 8-bit range, room to grow) and the threshold is exact. ``w_q = 2 round(S w0 /
    2)`` clipped to [-256, 254] (even: Lava's LearningDense drops the LSB of mixed-sign weights
    once, at its first step)."""
    w0 = np.asarray(w0, dtype=np.float64)
    if weight_scale is None:
        m = float(np.abs(w0).max())
        if not m > 0:
            raise ValueError("all start weights are 0: pass weight_scale")
        vth_q = max(1, int(round(threshold * headroom / m)))
        scale = vth_q / float(threshold)
    else:
        scale = float(weight_scale)
        if not scale > 0:
            raise ValueError(f"weight_scale must be > 0, got {weight_scale}")
        vth_q = max(1, int(round(threshold * scale)))
    w_q = np.clip(2 * np.round(w0 * scale / 2), -256, 254).astype(np.int64)
    return w_q, scale, vth_q


def check_fixed_start(w0: np.ndarray, rule: OnChipRule, weight_scale: float, y_exp: int):
    """Refuse fixed_pt start weights that are not integers in [-256, 255]; returns the
    neuron's :class:`~ff_neuro.training.onchip.fixed.FixedHebbianParams` (validated)."""
    from .fixed import FixedHebbianParams
    w0 = np.asarray(w0)
    if not np.array_equal(w0, np.round(w0)) or w0.min() < -256 or w0.max() > 255:
        raise ValueError("fixed_pt needs integer start weights in [-256, 255] "
                         "(quantize_start)")
    return FixedHebbianParams.from_rule({**asdict(rule), "weight_scale": weight_scale,
                                         "y_exp": y_exp})


def run_lava_learning(w0: np.ndarray, inputs: np.ndarray, polarity: np.ndarray,
                      rule: OnChipRule, *, snapshot_every: Optional[int] = None,
                      mode: str = "floating_pt", timeout_s: float = 1800.0,
                      weight_scale: float = 1.0, y_exp: int = -6, record: bool = False
                      ) -> Tuple[np.ndarray, List[np.ndarray], dict]:
    """Learn online on the Lava CPU simulator; one compile, runs in chunks of
    ``snapshot_every`` samples with a weight snapshot after each. Returns (final W, snapshots,
    stats).

    ``fixed_pt``: ``w0`` are integer weights (see :func:`quantize_start`), ``rule.vth`` the
    threshold in float units (``vth_q = round(weight_scale vth)``); snapshots are integers and
    ``stats["neuron"]`` holds the HebbianLIF's rounding statistics (``FIXED_STATS``).

    ``record``: ``stats["record"]`` holds the HebbianLIF's state at every time step,
    :func:`record_arrays` (``s`` spikes, ``v`` membrane, ``l`` trace, ``y`` the third factor
    sent, ``y2 - y3``; row ``t - 1`` is step ``t``). :func:`ff_neuro.training.onchip.emulator.
    run_emulated_learning` takes the same arguments and returns the same results."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} ({'|'.join(MODES)})")
    if mode == "fixed_pt":
        check_fixed_start(w0, rule, weight_scale, y_exp)  # before Lava starts
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
               "rule": asdict(rule), "out_dir": str(work), "mode": mode}
        if mode == "fixed_pt":
            from .fixed import FIXED_STATS
            stats_path = work / "neuron_stats.npy"
            np.save(stats_path, np.zeros(len(FIXED_STATS)))
            req["fixed"] = {"weight_scale": float(weight_scale), "y_exp": int(y_exp),
                            "stats_path": str(stats_path)}
        if record:
            from .fixed import RECORDED
            rec_dir = work / "record"
            rec_dir.mkdir()
            for k, a in record_arrays(sum(chunks), w0.shape[0], mode).items():
                np.save(rec_dir / f"{k}.npy", a)
            req["record_dir"] = str(rec_dir)
        t0 = time.perf_counter()
        res = run_worker("ff_neuro.training.onchip.worker", work, req,
                         what=f"on-chip learning, {mode}, {N} samples", timeout_s=timeout_s)
        snaps = [np.load(work / f"w_{i}.npy") for i in range(len(chunks))]
        stats = {"samples": N, "steps": int(sum(chunks)), "run_s": res["run_s"],
                 "compile_and_run_s": time.perf_counter() - t0, "compiles": 1,
                 "samples_per_s": N / res["run_s"],
                 "ms_per_step": 1000 * res["run_s"] / sum(chunks)}
        if mode == "fixed_pt":
            stats["neuron"] = dict(zip(FIXED_STATS, np.load(stats_path).tolist()))
        if record:
            stats["record"] = {k: np.load(rec_dir / f"{k}.npy") for k in RECORDED}
        return snaps[-1], snaps, stats
    finally:
        shutil.rmtree(work, ignore_errors=True)


def record_arrays(steps: int, n_out: int, mode: str) -> dict:
    """Zeroed per-step records of a HebbianLIF layer, (steps, n_out) each: ``s`` (uint8),
    and ``v``, ``l``, ``y`` (int32 / int16 / int16 in fixed_pt, float64 in floating_pt)."""
    fixed = mode == "fixed_pt"
    return {"s": np.zeros((steps, n_out), np.uint8),
            "v": np.zeros((steps, n_out), np.int32 if fixed else np.float64),
            "l": np.zeros((steps, n_out), np.int16 if fixed else np.float64),
            "y": np.zeros((steps, n_out), np.int16 if fixed else np.float64)}


def update_agreement(start: np.ndarray, w: np.ndarray, w_ref: np.ndarray) -> dict:
    """How the learned change ``w - start`` agrees with ``w_ref - start``: relative error,
    cosine and norm ratio (None where the reference learned nothing)."""
    start = np.asarray(start, dtype=np.float64)
    d, d_ref = np.asarray(w, np.float64) - start, np.asarray(w_ref, np.float64) - start
    nr, nf = float(np.linalg.norm(d_ref)), float(np.linalg.norm(d))
    return {"update_rel_error": float(np.linalg.norm(d - d_ref) / nr) if nr > 0 else None,
            "update_cosine": float((d * d_ref).sum() / (nf * nr)) if nf > 0 and nr > 0
            else None,
            "update_norm_ratio": nf / nr if nr > 0 else None}


def fixed_deviation(w0_q: np.ndarray, w_fixed: np.ndarray, w_ref: np.ndarray, scale: float,
                    neuron: dict, w_exact_q: Optional[np.ndarray] = None) -> dict:
    """Deviation of a fixed_pt run from the float reference rule (same start, same input
    spikes) and its sources. Weights in float units (integer / ``scale``). ``w_exact_q``: the
    final weights of :func:`reference_learning_fixed` (integer neuron, exact updates), which
    splits the deviation into the neuron's integer arithmetic and the learning engine's
    rounding."""
    start = np.asarray(w0_q, dtype=np.float64) / scale
    wf = np.asarray(w_fixed, dtype=np.float64) / scale
    wr = np.asarray(w_ref, dtype=np.float64)
    q = np.asarray(w_fixed)
    terms = max(1.0, neuron.get("terms", 0.0))
    split = {}
    if w_exact_q is not None:
        we = np.asarray(w_exact_q, dtype=np.float64) / scale
        split = {"integer_neuron_vs_float_rule": update_agreement(start, we, wr),
                 "learning_engine_vs_exact_updates": update_agreement(start, wf, we)}
    return {
        "weight_rel_error": float(np.linalg.norm(wf - wr) / np.linalg.norm(wr)),
        **update_agreement(start, wf, wr),
        "split": split,
        "weights_saturated": int(np.count_nonzero((q <= -256) | (q >= 255))),
        "weights": int(q.size),
        "third_factor": {
            "terms": int(neuron.get("terms", 0)),
            "rounded_to_zero": int(neuron.get("rounded_to_zero", 0)),
            "rounded_to_zero_fraction": neuron.get("rounded_to_zero", 0) / terms,
            "y_saturated": int(neuron.get("y_saturated", 0)),
            "y_saturated_fraction": neuron.get("y_saturated", 0) / terms,
            "rel_error": (neuron["sum_abs_y_error"] / neuron["sum_abs_y_exact"]
                          if neuron.get("sum_abs_y_exact") else None),
            "max_abs_y_exact": neuron.get("max_abs_y_exact"),
            "trace_saturated": int(neuron.get("trace_saturated", 0)),
            "learning_steps": int(neuron.get("learning_steps", 0)),
        },
        "notes": "update_*: the learned change W_end - W_start of Lava fixed_pt vs the float "
                 "rule (reference_learning, float64) from the same dequantized start on the "
                 "same input spikes; output spikes may diverge once weights differ. split: "
                 "integer_neuron_vs_float_rule = reference_learning_fixed (integer LIF, 7-bit "
                 "traces, rounded and saturated y, exact weight updates) vs the float rule; "
                 "learning_engine_vs_exact_updates = Lava fixed_pt vs reference_learning_fixed "
                 "(stochastic rounding of the weights, rare y decrements, and the spike "
                 "divergence they cause). "
                 "third_factor: per neuron and learning step, y = K l num / den rounded to an "
                 "integer (rounded_to_zero: a nonzero exact value sent as 0) and saturated at "
                 "127 (y_saturated); rel_error = sum|y_exact - y_sent| / sum|y_exact|. The "
                 "LearningDense adds further error: stochastic rounding of each weight update "
                 "to an integer (one random number per step, shared by all synapses), weight "
                 "saturation at [-256, 255] (weights_saturated at the end).",
    }


#: where a trial's learning runs: the Lava CPU simulator or the emulator (bit-exact in fixed_pt)
TARGETS = ("lava", "emulator")


def weights_sha256(w: np.ndarray) -> str:
    """SHA-256 (hex) of integer weights: the bytes of ``w`` as int64 in C order (row-major,
    ``(n_out, n_in)``). A fixed_pt trial reports it for its final weights; equal digests mean
    equal weights, whoever computed them."""
    import hashlib
    w = np.asarray(w)
    if not np.array_equal(w, np.round(w)):
        raise ValueError("weights_sha256 needs integer weights")
    return hashlib.sha256(np.ascontiguousarray(w, dtype=np.int64).tobytes()).hexdigest()


def trial_config(model=None, hidden: Optional[int] = None, seed: int = 0):
    """The :class:`~ff_neuro.training.hebbian.HebbianConfig` of a trial: ``hidden`` neurons
    (default: the model's first layer, else 200) and ``seed``; a model trained with
    ``algo="hebbian"`` brings its own input coding, label code (its seed) and rule parameters,
    without which its weights would meet inputs they were not trained on."""
    import dataclasses
    from ff_neuro.training.hebbian import HebbianConfig
    kw = {"hidden": (hidden or 200,), "seed": seed}
    if model is not None:
        n = model.layers[0].weight.shape[0]
        if hidden is not None and hidden != n:
            raise ValueError(f"hidden={hidden}: the model's layer has {n} neurons")
        kw["hidden"] = (n,)
        if (model.training or {}).get("algorithm") == "hebbian":
            known = {f.name for f in dataclasses.fields(HebbianConfig)}
            kw.update({k: v for k, v in model.training.get("config", {}).items()
                       if k in known and k != "hidden"})
    return HebbianConfig(**kw)


def learning_energy_summary(stats: dict, n_in: int, n_out: int, samples: int,
                            profile: str = "loihi") -> Optional[dict]:
    """Energy per learned sample of a trial run (JSON-ready): the forward pass and the
    learning engine's synaptic updates priced with ``profile``
    (:func:`ff_neuro.energy.learning_energy`), with the counts and the printed table. None
    when the run did not count its activity (a Lava run; the emulator counts it, and in
    fixed_pt its activity is Lava's, spike for spike)."""
    if "activity" not in stats:
        return None
    from ff_neuro.energy import learning_energy
    rep = learning_energy(stats["activity"], n_in=n_in, n_out=n_out, samples=samples,
                          profile=profile)
    fwd, learn = rep.layers
    return {"profile": rep.profile, "per_learned_sample_uJ": rep.total_pJ / 1e6,
            "forward_uJ": fwd.total_pJ / 1e6, "learning_uJ": learn.total_pJ / 1e6,
            "synaptic_updates_per_sample": learn.breakdown["synaptic_updates"],
            "trace_updates_per_sample": learn.breakdown["trace_updates"],
            "activity": dict(stats["activity"]), "notes": list(rep.notes), "table": str(rep)}


class LearningTrial:
    """One on-chip learning trial, in three parts: the sample stream and start weights
    (the constructor), the learning run on Lava or the emulator (:meth:`run`) and the report
    (:meth:`report`). :func:`learning_trial` is all three; a comparison runs the same trial on
    both targets (``run`` twice, ``record=True`` for the neurons' state at every step)."""

    def __init__(self, ds, samples: int = 1000, *, eval_samples: int = 200,
                 every: Optional[int] = None, model=None, cfg=None, eta: float = 0.5,
                 mode: str = "floating_pt", seed: int = 0, y_exp: int = -6,
                 weight_scale: Optional[float] = None) -> None:
        from ff_neuro import checks
        from ff_neuro.training.hebbian import HebbianConfig, HebbianTrainer
        samples = checks.samples("samples", samples, ds.x_train.shape[0],
                                 f"the training split of {ds.name}")
        eval_samples = checks.samples("eval_samples", eval_samples, ds.x_test.shape[0],
                                      f"the test split of {ds.name}")
        every = checks.count("every", min(100, samples) if every is None else every,
                             high=samples)
        checks.positive("eta", eta)
        checks.seed("seed", seed)
        checks.one_of("mode", mode, MODES)
        checks.integer("y_exp", y_exp, low=-7, high=0)
        if weight_scale is not None:
            checks.positive("weight_scale", weight_scale)
        if model is not None:
            model.check_dataset(ds)
        cfg = cfg or trial_config(model, seed=seed)
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
        scale = 1.0
        w_start = w0
        if mode == "fixed_pt":
            w_start, scale, vth_q = quantize_start(w0, cfg.threshold, weight_scale)
            w0 = w_start / scale  # every float comparison starts from the dequantized weights
            rule.vth = vth_q / scale
        self.ds, self.cfg, self.trainer, self.model = ds, cfg, trainer, model
        self.mode, self.every, self.y_exp, self.scale, self.rule = mode, every, y_exp, scale, rule
        self.w0, self.w_start = w0, w_start
        self.spikes, self.pos, self.pol, self.n, self.T = spikes, pos, pol, n, T
        self.x_ev, self.y_ev = ds.x_test[:eval_samples], ds.y_test[:eval_samples]

    @property
    def inputs(self) -> np.ndarray:
        """The input spikes, (samples, T, n_in)."""
        return np.transpose(self.spikes, (1, 0, 2))

    def run(self, on: str = "lava", *, timeout_s: float = 3600.0, record: bool = False,
            progress: bool = False, log=print) -> Tuple[np.ndarray, List[np.ndarray], dict]:
        """Learn the stream on ``on`` (:data:`TARGETS`): (final W, snapshots, stats) of
        :func:`run_lava_learning` or :func:`~ff_neuro.training.onchip.emulator.
        run_emulated_learning` (integers in fixed_pt)."""
        from ff_neuro import checks
        checks.one_of("on", on, TARGETS)
        checks.positive("timeout_s", timeout_s)
        kw = dict(snapshot_every=self.every, mode=self.mode, weight_scale=self.scale,
                  y_exp=self.y_exp, record=record)
        what = "Lava" if on == "lava" else "Emulator"
        log(f"{what} {self.mode}: {self.n} samples x {self.T + 1} steps, "
            f"{self.w0.shape[1]} -> {self.w0.shape[0]} LearningDense + HebbianLIF"
            + (", one compile" if on == "lava" else ""))
        if on == "lava":
            return run_lava_learning(self.w_start, self.inputs, self.pol, self.rule,
                                     timeout_s=timeout_s, **kw)
        from .emulator import run_emulated_learning
        return run_emulated_learning(self.w_start, self.inputs, self.pol, self.rule,
                                     progress=progress, **kw)

    def score(self, w: np.ndarray, x: Optional[np.ndarray] = None,
              y: Optional[np.ndarray] = None) -> float:
        """Accuracy of the float (dequantized) weights ``w`` on the held-out samples (or on
        ``x``, ``y``)."""
        self.trainer.WT[0] = np.ascontiguousarray(np.asarray(w, np.float64).T.astype(np.float32))
        return self.trainer.accuracy(self.x_ev if x is None else x,
                                     self.y_ev if y is None else y)

    def host_rule(self, w_start: Optional[np.ndarray] = None, every: Optional[int] = None,
                  progress: bool = False) -> Tuple[List[np.ndarray], float]:
        """The host trainer (``HebbianTrainer`` online: K = 1, no eligibility trace, the
        trial's eta) learning the trial's stream, the same samples and spikes, from
        ``w_start`` (default: the trial's float start weights): (the weights every ``every``
        samples and at the end, seconds). Its timing pairs x(t) with l(t); the chip pairs
        x(t) with l(t - 1)."""
        from ff_neuro.training.hebbian import HebbianConfig, HebbianTrainer
        cfg = self.cfg
        host = HebbianTrainer(HebbianConfig(**{**cfg.to_dict(), "tau_e": 0.0,
                                               "lr": self.rule.eta,
                                               "hidden": tuple(cfg.hidden)}), self.ds)
        start = self.w0 if w_start is None else w_start
        host.WT[0] = np.ascontiguousarray(np.asarray(start).T.astype(np.float32))
        every = every or self.n
        snaps = []
        samples = range(self.n)
        if progress:
            from tqdm import tqdm
            samples = tqdm(samples, desc="host rule", unit="sample", leave=False)
        t = time.perf_counter()
        for i in samples:
            host.present(self.spikes[:, i:i + 1], positive=self.pos[i:i + 1].astype(float),
                         learn=True)
            if (i + 1) % every == 0 or i + 1 == self.n:
                snaps.append(host.WT[0].T.astype(np.float64))
        return snaps, time.perf_counter() - t

    def report(self, on: str, w_end, snaps, stats, *, compare_torch: bool = True) -> dict:
        """The trial's result (JSON-ready) from :meth:`run`'s output."""
        mode, scale, rule, w0, n, every = (self.mode, self.scale, self.rule, self.w0, self.n,
                                           self.every)
        w_end_q = w_end
        w_end = np.asarray(w_end, dtype=np.float64) / scale
        curve = [{"samples": 0, "accuracy": self.score(w0)}]
        for i, w in enumerate(snaps):
            curve.append({"samples": min(n, (i + 1) * every),
                          "accuracy": self.score(np.asarray(w, dtype=np.float64) / scale)})
        out = {"on": on, "mode": mode, "samples_learned": n,
               "final_accuracy": curve[-1]["accuracy"],
               "samples_per_s": stats["samples_per_s"], "ms_per_step": stats["ms_per_step"],
               "run_s": stats["run_s"], "compiles": 1, "curve": curve,
               "eval_samples": int(self.x_ev.shape[0]),
               "start": "model" if self.model is not None else "random", "rule": asdict(rule),
               "weight_change_l1": float(np.abs(w_end - w0).sum()),
               "weights_sha256": weights_sha256(w_end_q) if mode == "fixed_pt" else None,
               "energy": learning_energy_summary(stats, w0.shape[1], w0.shape[0], n)}
        x = self.inputs
        if mode == "fixed_pt":
            from .emulator import run_emulated_learning
            t = time.perf_counter()
            w_ref, _, _ = run_emulated_learning(w0, x, self.pol, rule, mode="floating_pt")
            ref_s = time.perf_counter() - t
            w_exact, _, _ = reference_learning_fixed(self.w_start, x, self.pol, rule, scale,
                                                     self.y_exp)
            dev = fixed_deviation(self.w_start, w_end_q, w_ref, scale, stats["neuron"],
                                  w_exact)
            from .fixed import FixedHebbianParams
            q = FixedHebbianParams.from_rule({**asdict(rule), "weight_scale": scale,
                                              "y_exp": self.y_exp})
            out["fixed_point"] = {
                "weight_scale": scale, "vth_q": q.vth_q, "y_exp": int(self.y_exp), "k": q.k,
                "integer_params": q.to_dict(),
                "start_weights_q": {"min": int(self.w_start.min()),
                                    "max": int(self.w_start.max())},
                "float_reference": {"accuracy": self.score(w_ref), "seconds": ref_s,
                                    "note": "the float rule exactly as the Lava floating_pt "
                                            "network computes it (the emulator's floating_pt "
                                            "mode) from the same dequantized start on the "
                                            "same spikes"},
                "exact_update_reference_accuracy": self.score(w_exact / scale),
                "deviation": dev}
        if compare_torch:
            snaps_host, secs = self.host_rule()
            out["host_rule"] = {"accuracy": self.score(snaps_host[-1]),
                                "seconds": secs,
                                "note": "HebbianTrainer online (K = 1, no eligibility trace, "
                                        "same start, samples, spikes and eta); its timing "
                                        "pairs x(t) with l(t), the chip pairs x(t) with "
                                        "l(t - 1)"}
        return out


def learning_trial(ds, samples: int = 1000, *, eval_samples: int = 200,
                   every: Optional[int] = None,
                   model=None, cfg=None, eta: float = 0.5, mode: str = "floating_pt",
                   timeout_s: float = 3600.0, seed: int = 0, compare_torch: bool = True,
                   log=print, y_exp: int = -6, weight_scale: Optional[float] = None,
                   on: str = "lava", progress: bool = False) -> dict:
    """An online Hebbian FF learning trial on the simulated chip (one HebbianLIF layer), run
    on Lava (``on="lava"``) or on the emulator (``on="emulator"``: the same results, bit for
    bit in fixed_pt and to rounding in floating_pt, without Lava and much faster; ``progress``
    shows a progress bar).

    ``samples`` training samples stream through the network once (50/50 positive / negative,
    wrong label ``(y + U{1..C-1}) mod C``, updates in the late window ``t >=
    update_from_step``); the weights are read every ``every`` samples (default: 100, or
    ``samples`` if fewer) and scored on ``eval_samples`` held-out test samples (argmax of the
    symmetric probability, or of goodness for ``sigmoid``), which gives the learning curve.
    Starting weights: the first layer of ``model`` (a Network trained with ``--algo hebbian``,
    whose input coding and label code the trial then uses: :func:`trial_config`, unless
    ``cfg`` is given) or the Hebbian trainer's random init. With ``compare_torch`` the host trainer
    (``HebbianTrainer``, online, same start and samples) learns the same stream for
    comparison.

    ``mode="fixed_pt"``: the start weights are quantized (:func:`quantize_start`,
    ``weight_scale`` or automatic), the third factor leaves the neurons in units of
    ``2^y_exp`` integer weight units; every score uses the dequantized weights,
    ``out["weights_sha256"]`` is the digest of the final integer weights
    (:func:`weights_sha256`) and ``out["fixed_point"]`` reports the deviation from the float
    reference rule (the floating_pt network from the same dequantized start on the same
    spikes; :func:`fixed_deviation`) and that rule's accuracy.
    """
    from ff_neuro import checks
    checks.one_of("on", on, TARGETS)
    checks.positive("timeout_s", timeout_s)
    trial = LearningTrial(ds, samples, eval_samples=eval_samples, every=every, model=model,
                          cfg=cfg, eta=eta, mode=mode, seed=seed, y_exp=y_exp,
                          weight_scale=weight_scale)
    w_end, snaps, stats = trial.run(on, timeout_s=timeout_s, progress=progress, log=log)
    return trial.report(on, w_end, snaps, stats, compare_torch=compare_torch)
