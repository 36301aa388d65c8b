"""Energy of on-chip learning: what one learned sample costs on a chip priced per event.

An on-chip learning trial (:mod:`ff_neuro.training.onchip`) runs the network forward on every
sample (synaptic ops, neuron updates, spikes, as in inference) and, in the learning window, has
the learning engine rewrite synapses. :func:`learning_energy` prices the two separately, per
learned sample, with a ``per-event`` profile (``loihi``, ``loihi2``)::

    forward   synaptic_ops * synaptic_op_pJ + neuron_updates * neuron_update_pJ
              + output_spikes * spike_pJ                      (per_event_snn_energy)
    learning  synaptic_updates * synaptic_update_pJ

``synaptic_updates`` counts every synapse the learning engine rewrites: those of the inputs
that spike in a learning step, one per neuron
(:func:`ff_neuro.training.onchip.emulator.learning_activity`). Davies et al. (2018) give 120 pJ
per synaptic update on Loihi, a figure that covers the learning engine's work on one synapse;
the updates of the learning traces (``trace_updates``: the third-factor traces ``y2``, ``y3``
of every neuron per learning step) have no published energy of their own and are reported as
counts only.
"""
from __future__ import annotations

from typing import Mapping

from .estimator import EnergyReport, LayerCost, SpikingLayerActivity, per_event_snn_energy
from .profiles import load_profile

#: the counts :func:`learning_energy` needs (``learning_activity``'s keys)
ACTIVITY_KEYS = ("steps", "input_spikes", "synaptic_ops", "neuron_updates", "output_spikes",
                 "learning_steps", "synaptic_updates", "trace_updates")


def learning_energy(activity: Mapping[str, int], n_in: int, n_out: int, samples: int,
                    profile="loihi", name: str = "hebbian") -> EnergyReport:
    """Energy per learned sample of an on-chip learning trial (module docstring).

    ``activity``: the trial's counts over all its steps (:data:`ACTIVITY_KEYS`, as the
    emulator reports them in ``stats["activity"]``); ``samples``: how many samples it learned.
    Returns an :class:`EnergyReport` (``per="learned sample"``) with two rows, ``<name> (forward)`` and
    ``<name> (learning)``, printed in the table of ``ff-neuro energy``; its ``breakdown``
    items the counts.

    Example::

        >>> from ff_neuro.energy import learning_energy
        >>> act = {"steps": 240, "input_spikes": 2000, "synaptic_ops": 400000,
        ...        "neuron_updates": 48000, "output_spikes": 300, "learning_steps": 70,
        ...        "synaptic_updates": 120000, "trace_updates": 28000}
        >>> rep = learning_energy(act, n_in=884, n_out=200, samples=10)
        >>> [round(l.compute_pJ / 1e6, 4) for l in rep.layers]   # uJ per sample
        [1.3329, 1.44]
    """
    missing = [k for k in ACTIVITY_KEYS if k not in activity]
    if missing:
        raise ValueError(f"learning_energy: activity lacks {', '.join(missing)}")
    if not samples > 0:
        raise ValueError(f"learning_energy: samples must be > 0, got {samples}")
    prof = load_profile(profile) if isinstance(profile, str) else profile
    if prof.model != "per-event" or "synaptic_update_pJ" not in prof.constants:
        raise ValueError(f"learning_energy: profile {prof.name!r} has no per-event "
                         "synaptic_update_pJ (use loihi or loihi2)")
    steps = activity["steps"] / samples
    fwd = SpikingLayerActivity(name=f"{name} (forward)", n_in=n_in, n_out=n_out,
                               time_steps=max(1, int(round(steps))),
                               input_spikes=activity["input_spikes"] / samples,
                               output_spikes=activity["output_spikes"] / samples)
    rep = per_event_snn_energy([fwd], prof)
    rep.per = "learned sample"
    # the forward row's neuron updates are counted over the trial's steps, not rounded ones
    layer = rep.layers[0]
    e_neu = prof.value("neuron_update_pJ")
    updates = activity["neuron_updates"] / samples
    layer.compute_pJ += (updates - layer.neuron_updates) * e_neu
    layer.breakdown["neuron_updates_pJ"] = updates * e_neu
    layer.neuron_updates = updates
    e_upd = prof.value("synaptic_update_pJ")
    upd = activity["synaptic_updates"] / samples
    rep.layers.append(LayerCost(
        name=f"{name} (learning)", kind="snn", parameters=0, weight_fetches=0.0, macs=0.0,
        accs=0.0, neuron_updates=0.0, memory_pJ=0.0, compute_pJ=upd * e_upd,
        breakdown={"synaptic_updates": upd, "synaptic_updates_pJ": upd * e_upd,
                   "trace_updates": activity["trace_updates"] / samples,
                   "learning_steps": activity["learning_steps"] / samples}))
    rep.notes.append(f"per learned sample: the forward pass (as in inference) and the learning "
                     f"engine's synaptic updates at {e_upd:g} pJ each "
                     f"({prof.constants['synaptic_update_pJ'].source.strip()}); "
                     "trace updates are counted, not priced (no published energy)")
    return rep


__all__ = ["ACTIVITY_KEYS", "learning_energy"]
