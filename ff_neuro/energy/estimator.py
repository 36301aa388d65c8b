"""Analytical inference-energy estimates: FFGAF-SNN Table 2, Lemaire et al. 2022, per-event chips.

Energies are computed in picojoules (pJ) per layer and reported in millijoules
(1 mJ = 1e9 pJ). ``snn_energy`` and ``ann_mlp_energy`` dispatch on the profile's ``model``:
``ffgaf`` (below), ``lemaire`` (``lemaire_snn_energy`` / ``lemaire_ann_energy``) and
``per-event`` (``per_event_snn_energy``). The ``ffgaf`` accounting:

ANN fully connected layer (``ann_mlp_energy``; FFGAF's MLP rows)::

    parameters     = n_in * n_out                       (weights only, no biases)
    weight_fetches = parameters                         (every weight read once)
    MACs           = parameters                         (one multiply-accumulate per weight)
    E_memory  [pJ] = weight_fetches * weight_fetch_pJ
    E_compute [pJ] = MACs * mac_pJ

Spiking fully connected layer (``snn_energy``; event-driven, FFGAF's SNN rows)::

    synaptic_events = input_spikes * n_out              (each input spike fans out to n_out)
    weight_fetches  = synaptic_events                   (one weight read per event)
    ACCs            = synaptic_events * acc_per_synaptic_event
    neuron_updates  = n_out * time_steps
    E_memory  [pJ]  = weight_fetches * weight_fetch_pJ
    E_compute [pJ]  = ACCs * acc_pJ + neuron_updates * neuron_update_pJ

A layer with a recurrent synapse (its own spikes back to its ``n_out`` neurons, one step
later) and a layer of current-based neurons (a synaptic current that decays over steps) add,
in every accounting (see ``SpikingLayerActivity`` and each cost function)::

    synaptic_events += output_spikes * n_out           (recurrent: every output spike)
    parameters      += n_out * n_out                   (recurrent weights)
    neuron_updates  += n_out * time_steps              (current memory: the current's update)

so a feed-forward layer without current memory is priced exactly as above.

Every operation count (and so every energy) is multiplied by ``runs_per_inference``: a
Forward-Forward label sweep runs the network once per candidate label. Parameter counts are not.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence, Union

import numpy as np

from .profiles import HardwareProfile, load_profile

__all__ = [
    "PJ_PER_MJ",
    "LayerCost",
    "EnergyReport",
    "SpikingLayerActivity",
    "Conv2dSpec",
    "fc_parameter_count",
    "mlp_parameter_count",
    "conv_parameter_count",
    "ann_mlp_energy",
    "snn_energy",
    "lemaire_ann_energy",
    "lemaire_ann_conv_energy",
    "lemaire_snn_energy",
    "per_event_snn_energy",
]

#: picojoules per millijoule
PJ_PER_MJ = 1e9

ProfileLike = Union[HardwareProfile, str, "os.PathLike[str]"]


def _check_count(owner: str, name: str, value: Any, *, integer: bool = False, positive: bool = False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__}")
    if integer and not isinstance(value, int):
        if not (isinstance(value, float) and value.is_integer()):
            raise ValueError(f"{owner}: {name} must be an integer, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be finite, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{owner}: {name} must be > 0, got {value!r}")
    if value < 0:
        raise ValueError(f"{owner}: {name} must be >= 0, got {value!r}")


def fc_parameter_count(n_in: int, n_out: int, bias: bool = False) -> int:
    """Parameters of a fully connected layer: ``n_in * n_out`` (+ ``n_out`` if ``bias``).

    FFGAF Table 2 counts weights only, so ``bias`` defaults to False.

    Example::

        >>> from ff_neuro.energy import fc_parameter_count
        >>> fc_parameter_count(784, 256), fc_parameter_count(784, 256, bias=True)
        (200704, 200960)
    """
    _check_count("fc_parameter_count", "n_in", n_in, integer=True, positive=True)
    _check_count("fc_parameter_count", "n_out", n_out, integer=True, positive=True)
    n_in, n_out = int(n_in), int(n_out)
    return n_in * n_out + (n_out if bias else 0)


def mlp_parameter_count(layer_sizes: Sequence[int], bias: bool = False) -> int:
    """Sum of ``fc_parameter_count`` over consecutive pairs of ``layer_sizes``.

    Example::

        >>> from ff_neuro.energy import mlp_parameter_count
        >>> mlp_parameter_count([784, 256, 10])              # 784 * 256 + 256 * 10
        203264
    """
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least 2 entries (input, output), got {sizes}")
    return sum(fc_parameter_count(a, b, bias) for a, b in zip(sizes[:-1], sizes[1:]))


@dataclass
class LayerCost:
    """Operation counts and energies of one layer for one inference.

    ``ffgaf`` profiles: ``memory_pJ = weight_fetches * weight_fetch_pJ``;
    ``compute_pJ = macs * mac_pJ + accs * acc_pJ + neuron_updates * neuron_update_pJ``.
    ``lemaire`` and ``per-event`` profiles price more kinds of access (see their functions);
    ``breakdown`` then itemises the counts and pJ behind ``memory_pJ`` and ``compute_pJ``.
    Always ``total_pJ = memory_pJ + compute_pJ``. Counts are per inference (already multiplied
    by the report's ``runs_per_inference``) and may be fractional (means over samples).
    ``synaptic_events`` is 0 for ANN layers; it includes ``rec_synaptic_events``, the events
    through a recurrent synapse (0 for a feed-forward layer), and ``neuron_updates`` includes
    ``current_updates``, the current updates of current-based neurons (0 without current
    memory; see :class:`SpikingLayerActivity`).

    Example::

        >>> from ff_neuro.energy import LayerCost
        >>> cost = LayerCost(name="fc1", kind="ann", parameters=100, weight_fetches=100,
        ...                  macs=100, accs=0, neuron_updates=0, memory_pJ=500.0,
        ...                  compute_pJ=460.0)
        >>> cost.total_pJ, cost.total_mJ
        (960.0, 9.6e-07)
    """

    name: str
    kind: str
    parameters: int
    weight_fetches: float
    macs: float
    accs: float
    neuron_updates: float
    memory_pJ: float
    compute_pJ: float
    synaptic_events: float = 0.0
    breakdown: dict[str, float] = field(default_factory=dict)
    rec_synaptic_events: float = 0.0
    current_updates: float = 0.0

    def __post_init__(self) -> None:
        owner = f"LayerCost {self.name!r}"
        if self.kind not in ("ann", "snn"):
            raise ValueError(f"{owner}: kind must be 'ann' or 'snn', got {self.kind!r}")
        _check_count(owner, "parameters", self.parameters, integer=True)
        self.parameters = int(self.parameters)
        for fname in (
            "weight_fetches",
            "macs",
            "accs",
            "neuron_updates",
            "memory_pJ",
            "compute_pJ",
            "synaptic_events",
            "rec_synaptic_events",
            "current_updates",
        ):
            _check_count(owner, fname, getattr(self, fname))
        if self.rec_synaptic_events > self.synaptic_events * (1 + 1e-12):
            raise ValueError(f"{owner}: rec_synaptic_events ({self.rec_synaptic_events!r}) are "
                             f"part of synaptic_events ({self.synaptic_events!r})")
        if self.current_updates > self.neuron_updates * (1 + 1e-12):
            raise ValueError(f"{owner}: current_updates ({self.current_updates!r}) are part of "
                             f"neuron_updates ({self.neuron_updates!r})")
        self.breakdown = dict(self.breakdown)
        for key, value in self.breakdown.items():
            _check_count(owner, f"breakdown[{key!r}]", value)

    @property
    def total_pJ(self) -> float:
        return self.memory_pJ + self.compute_pJ

    @property
    def memory_mJ(self) -> float:
        return self.memory_pJ / PJ_PER_MJ

    @property
    def compute_mJ(self) -> float:
        return self.compute_pJ / PJ_PER_MJ

    @property
    def total_mJ(self) -> float:
        return self.total_pJ / PJ_PER_MJ

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            total_pJ=self.total_pJ,
            memory_mJ=self.memory_mJ,
            compute_mJ=self.compute_mJ,
            total_mJ=self.total_mJ,
        )
        return d


@dataclass
class EnergyReport:
    """Energy of one inference on ``profile``: the sum of its layers' costs.

    ``memory_mJ = sum(layer.memory_pJ) / 1e9``, ``compute_mJ = sum(layer.compute_pJ) / 1e9``,
    ``total_mJ = memory_mJ + compute_mJ``; ``parameters = sum(layer.parameters)``.
    Layer costs already include ``runs_per_inference`` (recorded here for the reader).

    Example::

        >>> from ff_neuro.energy import ann_mlp_energy
        >>> report = ann_mlp_energy([3072, 3072, 3072], "ffgaf-table2")     # FFGAF's FF* row
        >>> print(report)
        Energy per inference on profile 'ffgaf-table2'
        Layer |     Params | Memory (mJ) | Compute (mJ) | Total (mJ)
        ------+------------+-------------+--------------+-----------
        fc1   |  9,437,184 |       0.079 |        0.029 |      0.108
        fc2   |  9,437,184 |       0.079 |        0.029 |      0.108
        ------+------------+-------------+--------------+-----------
        Total | 18,874,368 |       0.157 |        0.059 |      0.216
        >>> report.parameters, round(report.total_mJ, 3), report.to_dict()["model"]
        (18874368, 0.216, 'ffgaf')
    """

    profile: str
    layers: list[LayerCost] = field(default_factory=list)
    runs_per_inference: int = 1
    model: str = "ffgaf"
    notes: list[str] = field(default_factory=list)
    synop_convention: str = "dense"
    static: dict[str, Any] | None = None
    #: what one row of the table costs: ``"inference"``, or ``"learned sample"`` for
    #: :func:`~ff_neuro.energy.learning_energy`
    per: str = "inference"

    def __post_init__(self) -> None:
        _check_count("EnergyReport", "runs_per_inference", self.runs_per_inference,
                     integer=True, positive=True)
        self.runs_per_inference = int(self.runs_per_inference)
        self.notes = [str(n) for n in self.notes]
        self.layers = list(self.layers)
        for layer in self.layers:
            if not isinstance(layer, LayerCost):
                raise TypeError(f"EnergyReport: layers must be LayerCost, got {type(layer).__name__}")

    @property
    def parameters(self) -> int:
        return sum(layer.parameters for layer in self.layers)

    @property
    def memory_pJ(self) -> float:
        return math.fsum(layer.memory_pJ for layer in self.layers)

    @property
    def compute_pJ(self) -> float:
        return math.fsum(layer.compute_pJ for layer in self.layers)

    @property
    def total_pJ(self) -> float:
        return self.memory_pJ + self.compute_pJ

    @property
    def memory_mJ(self) -> float:
        return self.memory_pJ / PJ_PER_MJ

    @property
    def compute_mJ(self) -> float:
        return self.compute_pJ / PJ_PER_MJ

    @property
    def total_mJ(self) -> float:
        """The dynamic energy: the sum of the priced operations (static energy not included;
        see :attr:`total_with_static_mJ`)."""
        return self.total_pJ / PJ_PER_MJ

    @property
    def static_mJ(self) -> float | None:
        """Static energy per inference (``static``: the chip's static power x chips x steps x
        step time), None when the profile states no static power."""
        return None if self.static is None else float(self.static["static_mJ"])

    @property
    def total_with_static_mJ(self) -> float | None:
        """Dynamic plus static energy per inference, None without a static power."""
        return None if self.static is None else self.total_mJ + self.static_mJ

    def add_static(self, power_W: float, step_time_us: float, steps: int, chips: int = 1,
                   cores: int | None = None) -> None:
        """Record the static energy of ``steps`` time steps of ``step_time_us`` each on
        ``chips`` chips idling at ``power_W`` (``cores``: the fit check's count, reported)."""
        static_mJ = power_W * chips * steps * step_time_us * 1e-6 * 1e3
        self.static = {"power_W": float(power_W), "step_time_us": float(step_time_us),
                       "steps": int(steps), "chips": int(chips), "cores": cores,
                       "static_mJ": static_mJ}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (totals in mJ and pJ, plus per-layer costs)."""
        extra: dict[str, Any] = {"synop_convention": self.synop_convention}
        if self.static is not None:
            extra.update(dynamic_mJ=self.total_mJ, static=dict(self.static),
                         static_mJ=self.static_mJ, total_with_static_mJ=self.total_with_static_mJ)
        return {**extra, **{
            "profile": self.profile,
            "parameters": self.parameters,
            "memory_mJ": self.memory_mJ,
            "compute_mJ": self.compute_mJ,
            "total_mJ": self.total_mJ,
            "memory_pJ": self.memory_pJ,
            "compute_pJ": self.compute_pJ,
            "total_pJ": self.total_pJ,
            "runs_per_inference": self.runs_per_inference,
            "model": self.model,
            "notes": list(self.notes),
            "layers": [layer.to_dict() for layer in self.layers],
        }}

    def format_table(self, decimals: int = 3, significant: int = 6) -> str:
        """Text table: Layer | Params | Memory (mJ) | Compute (mJ) | Total (mJ), plus a total row.

        Energies print with ``decimals`` decimals when every nonzero value stays nonzero at that
        precision; otherwise (nJ-scale nets) the whole table switches to ``significant``
        significant digits, so a nonzero energy never prints as 0.000.
        """
        rows: list[tuple[str, int, float, float, float]] = [
            (layer.name, layer.parameters, layer.memory_mJ, layer.compute_mJ, layer.total_mJ)
            for layer in self.layers
        ]
        total = ("Total", self.parameters, self.memory_mJ, self.compute_mJ, self.total_mJ)
        values = [v for row in rows + [total] for v in row[2:]]
        fixed = all(v == 0 or round(v, decimals) != 0 for v in values)

        def fmt(v: float) -> str:
            if fixed:
                return f"{v:.{decimals}f}"
            return f"{v:.{significant}g}"

        header = ("Layer", "Params", "Memory (mJ)", "Compute (mJ)", "Total (mJ)")
        cells = [header] + [
            (r[0], f"{r[1]:,}", fmt(r[2]), fmt(r[3]), fmt(r[4])) for r in rows + [total]
        ]
        widths = [max(len(c[i]) for c in cells) for i in range(len(header))]

        def line(c: Sequence[str]) -> str:
            parts = [c[0].ljust(widths[0])] + [c[i].rjust(widths[i]) for i in range(1, len(c))]
            return " | ".join(parts)

        rule = "-+-".join("-" * w for w in widths)
        out = [f"Energy per {self.per} on profile {self.profile!r}"]
        if self.runs_per_inference != 1:
            out[0] += f" ({self.runs_per_inference} runs per inference, included)"
        out += [line(header), rule]
        out += [line(c) for c in cells[1:-1]]
        out += [rule, line(cells[-1])]
        if self.static is not None:
            s = self.static
            where = f"{s['chips']} chip{'s' if s['chips'] != 1 else ''}" + (
                f", {s['cores']} core{'s' if s['cores'] != 1 else ''} by the fit check"
                if s.get("cores") else "")
            out += [f"Dynamic energy: {fmt(self.total_mJ)} mJ (the table's total)",
                    f"Static energy:  {fmt(self.static_mJ)} mJ ({s['power_W']:g} W static power "
                    f"x {where} x {s['steps']} steps x {s['step_time_us']:g} us per step)",
                    f"Total energy:   {fmt(self.total_with_static_mJ)} mJ"]
        out += [f"Note: {n}" for n in self.notes]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format_table()

    def plot(self, path, title: str = ""):
        """Memory and compute energy per layer as stacked bars (a PNG at ``path``); several
        profiles side by side: :func:`ff_neuro.energy.render.plot_reports`."""
        from .render import plot_reports
        return plot_reports({self.profile: self}, path, title)


@dataclass
class SpikingLayerActivity:
    """Measured activity of one spiking layer (dense or conv) during one run.

    ``input_spikes`` / ``output_spikes``: mean spike counts per run, summed over the layer's
    input / output neurons and all ``time_steps``, averaged over samples (graded input
    messages count once each). Hence ``0 <= input_spikes <= n_in * time_steps`` and
    ``0 <= output_spikes <= n_out * time_steps``.

    ``kind``: ``"dense"`` (every input spike reaches every one of the ``n_out`` neurons) or
    ``"conv2d"``, which needs ``synops``: the exact synaptic events per run counted from the
    run's per-position input events (:meth:`ff_neuro.model.Conv2d.synops`; padding and stride
    honoured), and ``parameters`` (weights and biases). ``synops_fanout``: Lemaire et al.'s
    fan-out approximation of the same, for comparison.

    ``recurrent``: the layer also feeds its own spikes back through a dense ``n_out x n_out``
    synapse (:attr:`ff_neuro.model.Layer.recurrent`). Every output spike then causes ``n_out``
    more synaptic events, one step later::

        rec_synops      = output_spikes * n_out          (0 without recurrence)
        synaptic_events = feed-forward events + rec_synops
        rec_parameters  = n_out * n_out                  (added to weight_parameters)

    All spikes count, the last step's included: on Loihi the recurrent ``Dense`` reads its
    synapses when the spike arrives, one step later, so the spikes of a window's last step are
    delivered into the next window's reset step (where ff-neuro's process drops them, keeping
    windows independent) and their synapses are still read. Under the ``dense`` synop
    convention every synapse counts, zero weights included; profiles with the ``stored``
    convention (Loihi's) count the nonzero weights only: ``synops_stored`` and
    ``rec_synops_stored`` (the feed-forward and recurrent events on nonzero weights, measured
    per input and per neuron by :func:`~ff_neuro.energy.measure_activity`).

    ``current_memory``: current-based (CUBA) neurons, whose synaptic current decays over steps
    (:attr:`ff_neuro.model.LoihiLIF.current_memory`): each neuron updates its current as well as
    its membrane at every step, so the layer makes ``current_updates = n_out * time_steps``
    state updates besides the ``n_out * time_steps`` membrane updates (0 without current
    memory; one neuron program per layer, so every neuron of the layer counts).

    Example::

        >>> from ff_neuro.energy import SpikingLayerActivity
        >>> act = SpikingLayerActivity(name="lif1", n_in=784, n_out=256, time_steps=25,
        ...                            input_spikes=2000.0, output_spikes=300.0)
        >>> act.synaptic_events, act.weight_parameters       # 2000 spikes x 256 neurons
        (512000.0, 200704)
        >>> rec = SpikingLayerActivity(name="lif1", n_in=784, n_out=256, time_steps=25,
        ...                            input_spikes=2000.0, output_spikes=300.0,
        ...                            recurrent=True, current_memory=True)
        >>> rec.rec_synops, rec.synaptic_events, rec.weight_parameters   # + 300 x 256, + 256**2
        (76800.0, 588800.0, 266240)
        >>> rec.current_updates                              # 256 neurons x 25 steps
        6400

    :func:`~ff_neuro.energy.measure_activity` makes these records from a run.
    """

    name: str
    n_in: int
    n_out: int
    time_steps: int
    input_spikes: float
    output_spikes: float
    kind: str = "dense"
    synops: float | None = None
    synops_fanout: float | None = None
    parameters: int | None = None
    recurrent: bool = False
    current_memory: bool = False
    synops_stored: float | None = None
    rec_synops_stored: float | None = None

    def __post_init__(self) -> None:
        owner = f"SpikingLayerActivity {self.name!r}"
        for fname in ("recurrent", "current_memory"):
            value = getattr(self, fname)
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{owner}: {fname} must be True or False, got {value!r}")
            setattr(self, fname, bool(value))
        if self.recurrent and self.kind != "dense":
            raise ValueError(f"{owner}: only a dense layer carries a recurrent synapse")
        for fname in ("n_in", "n_out", "time_steps"):
            _check_count(owner, fname, getattr(self, fname), integer=True, positive=True)
            setattr(self, fname, int(getattr(self, fname)))
        for fname, width in (("input_spikes", self.n_in), ("output_spikes", self.n_out)):
            value = getattr(self, fname)
            _check_count(owner, fname, value)
            limit = width * self.time_steps
            if value > limit * (1 + 1e-9):
                raise ValueError(
                    f"{owner}: {fname}={value!r} exceeds neurons x time_steps = {limit}; "
                    "it must be the mean spike count per run summed over neurons and time steps"
                )
        if self.kind not in ("dense", "conv2d"):
            raise ValueError(f"{owner}: kind must be 'dense' or 'conv2d', got {self.kind!r}")
        if self.kind == "conv2d" and (self.synops is None or self.parameters is None):
            raise ValueError(f"{owner}: a conv layer needs its exact synops and parameters")
        for fname in ("synops", "synops_fanout", "synops_stored", "rec_synops_stored"):
            if getattr(self, fname) is not None:
                _check_count(owner, fname, getattr(self, fname))
        if self.parameters is not None:
            _check_count(owner, "parameters", self.parameters, integer=True)
            self.parameters = int(self.parameters)

    @property
    def ff_synaptic_events(self) -> float:
        """Feed-forward synaptic events per run: ``input_spikes * n_out`` for a dense layer
        (every input spike reaches every output neuron), the exact ``synops`` for a conv
        layer."""
        return self.input_spikes * self.n_out if self.synops is None else self.synops

    def ff_events(self, convention: str = "dense") -> float:
        """Feed-forward synaptic events per run under a synop ``convention``: ``"dense"``
        (:attr:`ff_synaptic_events`) or ``"stored"`` (``synops_stored``: only the nonzero
        weights each input event reaches, what Loihi's counters count; the dense count when
        the record has none)."""
        if convention == "stored" and self.synops_stored is not None:
            return self.synops_stored
        return self.ff_synaptic_events

    def rec_events(self, convention: str = "dense") -> float:
        """Recurrent synaptic events per run under a synop ``convention``: :attr:`rec_synops`,
        or with ``"stored"`` the events on the recurrent synapse's nonzero weights
        (``rec_synops_stored``) when the record has them; 0 without recurrence."""
        if not self.recurrent:
            return 0.0
        if convention == "stored" and self.rec_synops_stored is not None:
            return self.rec_synops_stored
        return self.rec_synops

    @property
    def rec_synops(self) -> float:
        """Synaptic events per run through the recurrent synapse: ``output_spikes * n_out``
        (every spike of the layer reaches its ``n_out`` neurons a step later), 0 without."""
        return self.output_spikes * self.n_out if self.recurrent else 0.0

    @property
    def synaptic_events(self) -> float:
        """Synaptic events per run: the feed-forward ones (:attr:`ff_synaptic_events`) plus
        the recurrent ones (:attr:`rec_synops`)."""
        ff = self.ff_synaptic_events
        return ff + self.rec_synops if self.recurrent else ff

    @property
    def rec_parameters(self) -> int:
        """Recurrent weights: ``n_out * n_out``, 0 without recurrence."""
        return self.n_out * self.n_out if self.recurrent else 0

    @property
    def current_updates(self) -> int:
        """Current (second state) updates per run: ``n_out * time_steps`` for CUBA neurons, 0
        without current memory."""
        return self.n_out * self.time_steps if self.current_memory else 0

    @property
    def weight_parameters(self) -> int:
        """Parameters priced: ``n_in * n_out`` weights for a dense layer (FFGAF counts weights
        only), weights and biases for a conv layer; plus the ``n_out * n_out`` recurrent
        weights of a recurrent layer (``parameters``, when given, counts the feed-forward
        synapse only)."""
        ff = fc_parameter_count(self.n_in, self.n_out) if self.parameters is None \
            else self.parameters
        return ff + self.rec_parameters

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["synaptic_events"] = self.synaptic_events
        d["rec_synops"] = self.rec_synops
        d["current_updates"] = self.current_updates
        return d


def _resolve(profile: ProfileLike) -> HardwareProfile:
    return load_profile(profile)


def ann_mlp_energy(
    layer_sizes: Sequence[int],
    profile: ProfileLike,
    runs_per_inference: int = 1,
    names: Sequence[str] | None = None,
) -> EnergyReport:
    """FFGAF Table 2 accounting for an MLP with ``layer_sizes = [n_0, n_1, ..., n_L]``.

    Per fully connected layer ``l`` (``n_{l-1} -> n_l``)::

        parameters = n_{l-1} * n_l
        E_memory   = parameters * weight_fetch_pJ      (one fetch per weight)
        E_compute  = parameters * mac_pJ               (one MAC per weight)

    times ``runs_per_inference``. With the ``ffgaf-table2`` profile, ``[3072, 3072, 3072]``
    (FF*) gives 18,874,368 parameters and 0.157 / 0.059 / 0.216 mJ.

    A ``lemaire`` profile is handed to :func:`lemaire_ann_energy`; ``per-event`` profiles
    (neuromorphic chips) price spikes, not dense MACs, and raise ``ValueError``.

    Example::

        >>> from ff_neuro.energy import ann_mlp_energy
        >>> r = ann_mlp_energy([3072, 3072, 3072], "ffgaf-table2")
        >>> r.parameters, round(r.memory_mJ, 3), round(r.compute_mJ, 3), round(r.total_mJ, 3)
        (18874368, 0.157, 0.059, 0.216)
    """
    prof = _resolve(profile)
    if prof.model == "lemaire":
        return lemaire_ann_energy(layer_sizes, prof, runs_per_inference, names)
    if prof.model != "ffgaf":
        raise ValueError(
            f"ann_mlp_energy: profile {prof.name!r} is a {prof.model!r} profile (a spiking chip); "
            "ANN energy needs an 'ffgaf' or 'lemaire' profile"
        )
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least 2 entries (input, output), got {sizes}")
    n_layers = len(sizes) - 1
    if names is None:
        names = [f"fc{i + 1}" for i in range(n_layers)]
    names = list(names)
    if len(names) != n_layers:
        raise ValueError(f"got {len(names)} names for {n_layers} layers")
    report = EnergyReport(profile=prof.name, runs_per_inference=runs_per_inference)
    runs = report.runs_per_inference
    for name, n_in, n_out in zip(names, sizes[:-1], sizes[1:]):
        params = fc_parameter_count(n_in, n_out)
        fetches = params * runs
        macs = params * runs
        report.layers.append(
            LayerCost(
                name=name,
                kind="ann",
                parameters=params,
                weight_fetches=fetches,
                macs=macs,
                accs=0,
                neuron_updates=0,
                memory_pJ=fetches * prof.weight_fetch_pJ,
                compute_pJ=macs * prof.mac_pJ,
            )
        )
    return report


def snn_energy(
    layers: Sequence[SpikingLayerActivity],
    profile: ProfileLike,
    runs_per_inference: int = 1,
) -> EnergyReport:
    """Event-driven energy of fully connected spiking layers from measured spike counts.

    Per layer, with ``R = runs_per_inference``::

        parameters      = n_in * n_out
        synaptic_events = R * input_spikes * n_out
        E_memory        = synaptic_events * weight_fetch_pJ
        E_compute       = synaptic_events * acc_per_synaptic_event * acc_pJ
                          + R * n_out * time_steps * neuron_update_pJ

    A conv layer (FFGAF's CSNN row) reads each kernel once per run, not per event::

        E_memory        = R * parameters * sram_read_1MB_pJ      (weights and biases)
        E_compute       = R * synops * acc_per_synaptic_event * acc_pJ
                          + R * n_out * time_steps * neuron_update_pJ

    with ``synops`` the exact synaptic events of the run. A recurrent layer's events through
    its recurrent synapse (``rec_synops = output_spikes * n_out``, see
    :class:`SpikingLayerActivity`) are synaptic events like the others (one weight fetch and
    ``acc_per_synaptic_event`` accumulates each), and its ``n_out * n_out`` recurrent weights
    count as parameters; a layer of current-based neurons updates its current as well as its
    membrane at every step, priced as a second state update::

        synaptic_events = R * (input_spikes + output_spikes) * n_out       (recurrent)
        neuron_updates  = R * 2 * n_out * time_steps                       (current memory)

    Feed-forward layers without current memory are priced by the formulas above unchanged.
    That is the ``ffgaf`` model; a ``lemaire`` profile is handed to :func:`lemaire_snn_energy`
    and a ``per-event`` profile to :func:`per_event_snn_energy`.

    Example::

        >>> from ff_neuro.energy import SpikingLayerActivity, snn_energy
        >>> act = SpikingLayerActivity(name="lif1", n_in=784, n_out=256, time_steps=25,
        ...                            input_spikes=2000.0, output_spikes=300.0)
        >>> for profile in ("ffgaf-table2", "lemaire2022-45nm", "loihi"):
        ...     r = snn_energy([act], profile)
        ...     print(f"{profile:17} {r.model:9} {r.total_pJ / 1e6:.2f} uJ")
        ffgaf-table2      ffgaf     4.37 uJ
        lemaire2022-45nm  lemaire   56.62 uJ
        loihi             per-event 12.60 uJ
    """
    prof = _resolve(profile)
    if prof.model == "lemaire":
        return lemaire_snn_energy(layers, prof, runs_per_inference)
    if prof.model == "per-event":
        return per_event_snn_energy(layers, prof, runs_per_inference)
    report = EnergyReport(profile=prof.name, runs_per_inference=runs_per_inference)
    runs = report.runs_per_inference
    for act in layers:
        if not isinstance(act, SpikingLayerActivity):
            raise TypeError(f"snn_energy: layers must be SpikingLayerActivity, got {type(act).__name__}")
        events = act.synaptic_events * runs
        accs = events * prof.acc_per_synaptic_event
        updates, cur_updates = _neuron_updates(act, runs)
        if act.kind == "conv2d":   # CSNN reading: kernels read once per run, not per event
            fetches = act.weight_parameters * runs
            memory_pJ = fetches * prof.value("sram_read_1MB_pJ")
        else:
            fetches = events
            memory_pJ = events * prof.weight_fetch_pJ
        report.layers.append(
            LayerCost(
                name=act.name,
                kind="snn",
                parameters=act.weight_parameters,
                weight_fetches=fetches,
                macs=0,
                accs=accs,
                neuron_updates=updates,
                memory_pJ=memory_pJ,
                compute_pJ=accs * prof.acc_pJ + updates * prof.neuron_update_pJ,
                synaptic_events=events,
                **_dynamics_fields(act, runs, cur_updates),
            )
        )
    if any(a.kind == "conv2d" for a in layers):
        report.notes.append(
            "conv layers (FFGAF's CSNN reading of its Table 2): memory = parameters x "
            f"{prof.value('sram_read_1MB_pJ'):g} pJ (each kernel read once per run, one 1 MB "
            "SRAM read per parameter), compute = exact synaptic operations (padding and stride "
            "honoured) x accumulates")
    _dynamics_notes(report, layers)
    return report


def synop_note(convention: str, layers: Sequence[SpikingLayerActivity] = ()) -> str:
    """The report line that says how synaptic events were counted."""
    from .profiles import SYNOP_CONVENTIONS
    text = f"synaptic events counted as {convention!r}: {SYNOP_CONVENTIONS[convention]}"
    if convention == "stored" and any(a.synops_stored is None for a in layers):
        missing = [a.name for a in layers if a.synops_stored is None]
        text += f" (no stored-synapse count for {', '.join(missing)}: dense count used)"
    return text


def _neuron_updates(act: SpikingLayerActivity, runs: int) -> tuple:
    """``(neuron_updates, current_updates)`` of a layer over ``runs`` runs: the membrane's
    ``n_out * time_steps`` per run, plus as many current updates for current-based neurons
    (the feed-forward LIF's count, unchanged, when the layer has no current memory)."""
    updates = act.n_out * act.time_steps * runs
    if not act.current_memory:
        return updates, 0
    cur = act.current_updates * runs
    return updates + cur, cur


def _dynamics_fields(act: SpikingLayerActivity, runs: int, cur_updates) -> dict:
    """The LayerCost fields that itemise recurrence and current memory (none for a plain
    layer: they stay 0)."""
    out = {}
    if act.recurrent:
        out["rec_synaptic_events"] = act.rec_synops * runs
    if act.current_memory:
        out["current_updates"] = cur_updates
    return out


def _dynamics_notes(report: EnergyReport, layers: Sequence[SpikingLayerActivity],
                    current: str = "priced as a second state update") -> None:
    """Say how recurrent synapses and current-based neurons were priced (``current``: how the
    model prices a current update), when a layer has them (nothing is added for feed-forward
    LIF layers)."""
    rec = [a.name for a in layers if a.recurrent]
    cuba = [a.name for a in layers if a.current_memory]
    if rec:
        report.notes.append(
            f"recurrent layers ({', '.join(rec)}): every output spike also causes n_out "
            "synaptic events through the recurrent synapse (the last step's spikes included: "
            "the chip delivers them into the next window's reset step); they are part of the "
            "synaptic events and the n_out x n_out recurrent weights of the parameters")
    if cuba:
        report.notes.append(
            f"current-based neurons ({', '.join(cuba)}): each neuron updates its synaptic "
            f"current as well as its membrane at every step, {current}")


# -- convolution geometry ---------------------------------------------------------------------------
def conv_parameter_count(in_channels: int, out_channels: int, kernel_size: int,
                         bias: bool = True) -> int:
    """Parameters of a square 2-D convolution: ``k * k * C_in * C_out`` (+ ``C_out`` biases).

    Example::

        >>> from ff_neuro.energy import conv_parameter_count
        >>> conv_parameter_count(1, 8, 3), conv_parameter_count(1, 8, 3, bias=False)
        (80, 72)
    """
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("kernel_size", kernel_size)):
        _check_count("conv_parameter_count", name, value, integer=True, positive=True)
    k = int(kernel_size)
    return k * k * int(in_channels) * int(out_channels) + (int(out_channels) if bias else 0)


@dataclass
class Conv2dSpec:
    """A square 2-D convolution on a ``C_in x H x W`` input (geometry only, no weights).

    ``H_out = floor((H + 2 * padding - kernel_size) / stride) + 1`` (same for ``W``).

    Example::

        >>> from ff_neuro.energy import Conv2dSpec
        >>> spec = Conv2dSpec("conv1", in_channels=1, out_channels=8, kernel_size=3,
        ...                   input_hw=(28, 28), padding=1)
        >>> spec.output_hw, spec.parameters, spec.macs
        ((28, 28), 80, 56448)
    """

    name: str
    in_channels: int
    out_channels: int
    kernel_size: int
    input_hw: tuple[int, int]
    stride: int = 1
    padding: int = 0
    bias: bool = True

    def __post_init__(self) -> None:
        owner = f"Conv2dSpec {self.name!r}"
        for fname in ("in_channels", "out_channels", "kernel_size", "stride"):
            _check_count(owner, fname, getattr(self, fname), integer=True, positive=True)
            setattr(self, fname, int(getattr(self, fname)))
        _check_count(owner, "padding", self.padding, integer=True)
        self.padding = int(self.padding)
        hw = tuple(self.input_hw)
        if len(hw) != 2:
            raise ValueError(f"{owner}: input_hw must be (H, W), got {self.input_hw!r}")
        for v in hw:
            _check_count(owner, "input_hw", v, integer=True, positive=True)
        self.input_hw = (int(hw[0]), int(hw[1]))
        if any(h + 2 * self.padding < self.kernel_size for h in self.input_hw):
            raise ValueError(f"{owner}: kernel {self.kernel_size} larger than padded input {self.input_hw}")

    @property
    def output_hw(self) -> tuple[int, int]:
        k, s, p = self.kernel_size, self.stride, self.padding
        return tuple((h + 2 * p - k) // s + 1 for h in self.input_hw)  # type: ignore[return-value]

    @property
    def parameters(self) -> int:
        return conv_parameter_count(self.in_channels, self.out_channels, self.kernel_size, self.bias)

    @property
    def weights(self) -> int:
        return self.kernel_size ** 2 * self.in_channels * self.out_channels

    @property
    def inputs(self) -> int:
        return self.in_channels * self.input_hw[0] * self.input_hw[1]

    @property
    def outputs(self) -> int:
        return self.out_channels * self.output_hw[0] * self.output_hw[1]

    @property
    def macs(self) -> int:
        """``C_out * H_out * W_out * C_in * k * k``: one MAC per weight per output position."""
        return self.outputs * self.in_channels * self.kernel_size ** 2


# -- Lemaire et al. 2022 ------------------------------------------------------------------------------
def _lemaire_profile(profile: ProfileLike, owner: str) -> HardwareProfile:
    prof = _resolve(profile)
    if prof.model != "lemaire":
        raise ValueError(
            f"{owner}: profile {prof.name!r} is a {prof.model!r} profile; it needs a 'lemaire' "
            "profile (e.g. 'lemaire2022-45nm')"
        )
    return prof


def _lemaire_names(names: Sequence[str] | None, n_layers: int, prefix: str) -> list[str]:
    if names is None:
        return [f"{prefix}{i + 1}" for i in range(n_layers)]
    names = list(names)
    if len(names) != n_layers:
        raise ValueError(f"got {len(names)} names for {n_layers} layers")
    return names


def _lemaire_ann_layer(name: str, prof: HardwareProfile, runs: int, *, parameters: int,
                       macs: int, bias_accs: int, weight_reads: int, weight_words: int,
                       input_reads: int, input_words: int, output_writes: int,
                       output_words: int) -> LayerCost:
    wb = prof.format_bits("word_bits")
    e_w = prof.sram_access_pJ(weight_words * wb)
    e_in = prof.sram_access_pJ(input_words * wb)
    e_out = prof.sram_access_pJ(output_words * wb)
    macs_r, accs_r = macs * runs, bias_accs * runs
    w_r, in_r, out_w = weight_reads * runs, input_reads * runs, output_writes * runs
    weights_pJ = w_r * e_w
    io_pJ = in_r * e_in + out_w * e_out
    ops_pJ = macs_r * prof.mac_pJ + accs_r * prof.acc_pJ
    return LayerCost(
        name=name,
        kind="ann",
        parameters=parameters,
        weight_fetches=w_r,
        macs=macs_r,
        accs=accs_r,
        neuron_updates=0,
        memory_pJ=weights_pJ + io_pJ,
        compute_pJ=ops_pJ,
        breakdown={
            "weight_reads": w_r,
            "input_reads": in_r,
            "output_writes": out_w,
            "weight_read_pJ_each": e_w,
            "input_read_pJ_each": e_in,
            "output_write_pJ_each": e_out,
            "mem_weights_pJ": weights_pJ,
            "mem_io_pJ": io_pJ,
            "ops_pJ": ops_pJ,
        },
    )


_LEMAIRE_ANN_NOTE = (
    "Lemaire et al. 2022 (ANN): memory = weight, input and output accesses, each priced at "
    "E(bits) = slope * (size of that memory in bits) + offset; compute = MACs and bias ACCs."
)


def lemaire_ann_energy(
    layer_sizes: Sequence[int],
    profile: ProfileLike = "lemaire2022-45nm",
    runs_per_inference: int = 1,
    names: Sequence[str] | None = None,
) -> EnergyReport:
    """Lemaire et al. 2022 energy of a fully connected ANN, ``layer_sizes = [n_0, ..., n_L]``.

    Per layer (``Nin -> Nout``), with ``E(b) = sram_access_pJ_per_bit * b + sram_access_pJ_offset``
    and ``w = formats.word_bits``::

        MACs          = Nin * Nout                 -> compute, mac_pJ each (3.2 = mul + add)
        bias ACCs     = Nout                       -> compute, acc_pJ each
        weight reads  = Nin * Nout  at E(Nin * Nout * w)   -> memory
        input reads   = Nin         at E(Nin * w)          -> memory
        output writes = Nout        at E(Nout * w)         -> memory

    all times ``runs_per_inference``; parameters are ``Nin * Nout`` (weights, as FFGAF counts).
    These are the formulas of docs/energy.md. The authors' reference implementation
    (qualia-plugin-snn) also charges ``Nin * Nout`` addressing ACCs and, for layers with a bias,
    ``Nout`` bias reads; they are not included here.

    Example::

        >>> from ff_neuro.energy import lemaire_ann_energy
        >>> r = lemaire_ann_energy([784, 256, 10])
        >>> [layer.name for layer in r.layers], round(r.total_pJ / 1e6, 2)    # in uJ
        (['fc1', 'fc2'], 17.4)
    """
    prof = _lemaire_profile(profile, "lemaire_ann_energy")
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least 2 entries (input, output), got {sizes}")
    names = _lemaire_names(names, len(sizes) - 1, "fc")
    report = EnergyReport(profile=prof.name, runs_per_inference=runs_per_inference,
                          model="lemaire", notes=[_LEMAIRE_ANN_NOTE])
    runs = report.runs_per_inference
    for name, n_in, n_out in zip(names, sizes[:-1], sizes[1:]):
        params = fc_parameter_count(n_in, n_out)
        n_in, n_out = int(n_in), int(n_out)
        report.layers.append(_lemaire_ann_layer(
            name, prof, runs, parameters=params, macs=params, bias_accs=n_out,
            weight_reads=params, weight_words=params, input_reads=n_in, input_words=n_in,
            output_writes=n_out, output_words=n_out))
    return report


def lemaire_ann_conv_energy(
    layers: Sequence[Conv2dSpec],
    profile: ProfileLike = "lemaire2022-45nm",
    runs_per_inference: int = 1,
) -> EnergyReport:
    """Lemaire et al. 2022 energy of ANN convolutions (no data reuse: one read per MAC).

    Per layer, with ``M = C_out * H_out * W_out * C_in * k * k`` MACs::

        MACs          = M                          -> compute, mac_pJ each
        bias ACCs     = C_out * H_out * W_out      -> compute, acc_pJ each
        weight reads  = M   at E(k * k * C_in * C_out * w)   -> memory
        input reads   = M   at E(C_in * H_in * W_in * w)     -> memory
        output writes = C_out * H_out * W_out  at E(C_out * H_out * W_out * w)   -> memory

    Parameters count weights and biases (``Conv2dSpec.parameters``).

    Example::

        >>> from ff_neuro.energy import Conv2dSpec, lemaire_ann_conv_energy
        >>> spec = Conv2dSpec("conv1", in_channels=1, out_channels=8, kernel_size=3,
        ...                   input_hw=(28, 28), padding=1)
        >>> r = lemaire_ann_conv_energy([spec])
        >>> r.layers[0].macs, round(r.total_pJ / 1e6, 2)                      # in uJ
        (56448, 1.78)
    """
    prof = _lemaire_profile(profile, "lemaire_ann_conv_energy")
    report = EnergyReport(profile=prof.name, runs_per_inference=runs_per_inference,
                          model="lemaire", notes=[_LEMAIRE_ANN_NOTE + " Convolutions: no reuse, "
                                                  "one weight and one input read per MAC."])
    runs = report.runs_per_inference
    for spec in layers:
        if not isinstance(spec, Conv2dSpec):
            raise TypeError(f"lemaire_ann_conv_energy: layers must be Conv2dSpec, got {type(spec).__name__}")
        report.layers.append(_lemaire_ann_layer(
            spec.name, prof, runs, parameters=spec.parameters, macs=spec.macs,
            bias_accs=spec.outputs if spec.bias else 0, weight_reads=spec.macs,
            weight_words=spec.weights, input_reads=spec.macs, input_words=spec.inputs,
            output_writes=spec.outputs, output_words=spec.outputs))
    return report


def lemaire_snn_energy(
    layers: Sequence[SpikingLayerActivity],
    profile: ProfileLike = "lemaire2022-45nm",
    runs_per_inference: int = 1,
    *,
    leak: bool = True,
    bias: bool = True,
    spike_fifo_words: int | None = None,
) -> EnergyReport:
    """Lemaire et al. 2022 energy of fully connected spiking layers from measured spike counts.

    Per layer, with ``theta_in = input_spikes`` and ``theta_out = output_spikes`` (over all ``T``
    steps of one run), ``E(b) = sram_access_pJ_per_bit * b + sram_access_pJ_offset`` and
    ``w = formats.word_bits``::

        compute:
          ACCs            = theta_in * Nout + T * Nout + theta_out   (synaptic, bias, reset)
          leak MACs       = T * Nout                       (LIF; 0 when ``leak=False``)
          addressing ACCs = theta_in * Nout
        memory:
          weight reads    = theta_in * Nout       at E(Nin * Nout * w)
          bias reads      = T * Nout              at E(Nout * w)     (0 when ``bias=False``)
          potential reads = potential writes = theta_in * Nout + T * Nout   at E(Nout * w)
          spike reads     = theta_in              at E(S_in * w)
          spike writes    = theta_out             at E(S_out * w)

    ``S_in = Nin`` and ``S_out = Nout`` (the layer's input/output buffers) unless
    ``spike_fifo_words`` gives a FIFO size, as the reference implementation's ``fifo_size``.
    All counts times ``runs_per_inference``. These are docs/energy.md's formulas, i.e. the
    reference implementation's, which corrects the paper's FC equation (Nin times too many).
    ``LayerCost.accs`` holds ACCs + addressing ACCs, ``macs`` the leak MACs,
    ``weight_fetches`` the weight reads, ``synaptic_events`` ``theta_in * Nout`` and
    ``neuron_updates`` ``T * Nout``; ``breakdown`` itemises the rest.

    A recurrent layer (:class:`SpikingLayerActivity` ``recurrent``) is a second fully
    connected input of ``Nout`` neurons carrying the layer's own ``theta_out`` spikes, with
    its weights in a memory of its own; with ``rec = theta_out * Nout`` (every spike, the
    last step's included)::

        ACCs               += rec           (synaptic)
        addressing ACCs    += rec
        rec weight reads    = rec           at E(Nout * Nout * w)
        potential reads = potential writes += rec   at E(Nout * w)
        rec spike reads     = theta_out     at E(S_out * w)   (the layer's own output buffer)
        parameters         += Nout * Nout

    (``weight_fetches`` and ``synaptic_events`` then include the ``rec`` reads and events.)

    A layer of current-based neurons (``current_memory``) updates a second state per neuron
    and step, ``i[t] = (1 - i_decay) i[t-1] + a[t]`` before ``v[t] = (1 - v_decay) v[t-1] +
    i[t]``; the synaptic events then accumulate into the current rather than the membrane
    (the same count of accesses to a memory of the same size), and with ``cur = T * Nout``::

        current leak MACs = cur           (i decays; charged whatever ``leak`` says)
        ACCs              += cur          (the current into the membrane)
        current reads = current writes = cur   at E(Nout * w)
        neuron_updates    += cur

    A feed-forward layer without current memory is priced by the first formulas, unchanged.
    ``breakdown`` itemises ``rec_synaptic_events``, ``rec_weight_reads``, ``rec_spike_reads``,
    ``current_leak_macs``, ``current_accs``, ``current_reads`` and ``current_writes`` when a
    layer has them; their energies are part of ``mem_weights_pJ``, ``mem_pot_pJ`` (state
    memory), ``mem_io_pJ`` and ``ops_pJ`` / ``addr_pJ``.

    Example::

        >>> from ff_neuro.energy import SpikingLayerActivity, lemaire_snn_energy
        >>> act = SpikingLayerActivity(name="lif1", n_in=784, n_out=256, time_steps=25,
        ...                            input_spikes=2000.0, output_spikes=300.0)
        >>> r = lemaire_snn_energy([act])
        >>> b = r.layers[0].breakdown
        >>> b["acc_ops"], b["leak_macs"], b["spike_writes"]   # 512000 + 25 * 256 + 300, ...
        (518700.0, 6400, 300.0)
        >>> round(r.total_pJ / 1e6, 2)                        # in uJ
        56.62
    """
    prof = _lemaire_profile(profile, "lemaire_snn_energy")
    if spike_fifo_words is not None:
        _check_count("lemaire_snn_energy", "spike_fifo_words", spike_fifo_words, integer=True)
    wb = prof.format_bits("word_bits")
    report = EnergyReport(
        profile=prof.name, runs_per_inference=runs_per_inference, model="lemaire",
        notes=["Lemaire et al. 2022 (SNN): memory = weight, bias, potential and spike accesses, "
               "each priced at E(bits) = slope * (size of that memory in bits) + offset; "
               "compute = ACCs, leak MACs and addressing ACCs."],
    )
    runs = report.runs_per_inference
    for act in layers:
        if not isinstance(act, SpikingLayerActivity):
            raise TypeError(
                f"lemaire_snn_energy: layers must be SpikingLayerActivity, got {type(act).__name__}")
        if act.kind != "dense":
            raise ValueError(
                f"lemaire_snn_energy: layer {act.name!r} is a convolution; Lemaire et al.'s "
                "model prices the data movement of a fully connected dataflow, and a conv "
                "dataflow (kernel reuse, line buffers) is not modelled here. Price conv "
                "networks on an 'ffgaf' or a 'per-event' profile")
        n_in, n_out, T = act.n_in, act.n_out, act.time_steps
        th_in, th_out = act.input_spikes * runs, act.output_spikes * runs
        steps = T * n_out * runs
        events = th_in * n_out
        acc_ops = events + steps + th_out
        leak_macs = steps if leak else 0
        addr_accs = events
        weight_reads = events
        bias_reads = steps if bias else 0
        pot_accesses = events + steps  # reads; writes are the same count
        s_in = n_in if spike_fifo_words is None else int(spike_fifo_words)
        s_out = n_out if spike_fifo_words is None else int(spike_fifo_words)
        e_w = prof.sram_access_pJ(n_in * n_out * wb)
        e_b = prof.sram_access_pJ(n_out * wb)
        e_pot = prof.sram_access_pJ(n_out * wb)
        e_sin = prof.sram_access_pJ(s_in * wb)
        e_sout = prof.sram_access_pJ(s_out * wb)
        mem_weights = weight_reads * e_w
        mem_bias = bias_reads * e_b
        mem_pot = 2 * pot_accesses * e_pot
        mem_io = th_in * e_sin + th_out * e_sout
        ops_pJ = acc_ops * prof.acc_pJ + leak_macs * prof.mac_pJ
        addr_pJ = addr_accs * prof.acc_pJ
        all_events, all_reads, macs, updates = events, weight_reads, leak_macs, steps
        extra: dict[str, float] = {}
        fields: dict[str, float] = {}
        if act.recurrent:          # the layer's own spikes through its recurrent synapse
            rec = th_out * n_out
            e_wrec = prof.sram_access_pJ(n_out * n_out * wb)
            acc_ops += rec
            addr_accs += rec
            pot_accesses += rec
            all_events = events + rec
            all_reads = weight_reads + rec
            mem_weights += rec * e_wrec
            mem_pot += 2 * rec * e_pot
            mem_io += th_out * e_sout
            ops_pJ += rec * prof.acc_pJ
            addr_pJ += rec * prof.acc_pJ
            extra.update(rec_synaptic_events=rec, rec_weight_reads=rec,
                         rec_weight_read_pJ_each=e_wrec, rec_spike_reads=th_out)
            fields["rec_synaptic_events"] = rec
        if act.current_memory:     # CUBA: the current's decay, its read and write, v += i
            cur = steps
            acc_ops += cur
            macs = leak_macs + cur
            updates = steps + cur
            mem_pot += 2 * cur * e_pot
            ops_pJ += cur * prof.acc_pJ + cur * prof.mac_pJ
            extra.update(current_leak_macs=cur, current_accs=cur, current_reads=cur,
                         current_writes=cur)
            fields["current_updates"] = cur
        report.layers.append(LayerCost(
            name=act.name,
            kind="snn",
            parameters=fc_parameter_count(n_in, n_out) + act.rec_parameters,
            weight_fetches=all_reads,
            macs=macs,
            accs=acc_ops + addr_accs,
            neuron_updates=updates,
            memory_pJ=mem_weights + mem_bias + mem_pot + mem_io,
            compute_pJ=ops_pJ + addr_pJ,
            synaptic_events=all_events,
            **fields,
            breakdown={
                "acc_ops": acc_ops,
                "leak_macs": leak_macs,
                "addressing_accs": addr_accs,
                "weight_reads": weight_reads,
                "bias_reads": bias_reads,
                "potential_reads": pot_accesses,
                "potential_writes": pot_accesses,
                "spike_reads": th_in,
                "spike_writes": th_out,
                "weight_read_pJ_each": e_w,
                "bias_read_pJ_each": e_b,
                "potential_access_pJ_each": e_pot,
                "spike_read_pJ_each": e_sin,
                "spike_write_pJ_each": e_sout,
                "mem_weights_pJ": mem_weights,
                "mem_bias_pJ": mem_bias,
                "mem_pot_pJ": mem_pot,
                "mem_io_pJ": mem_io,
                "ops_pJ": ops_pJ,
                "addr_pJ": addr_pJ,
                **extra,
            },
        ))
    _dynamics_notes(report, layers, "priced as a second state update (one leak MAC, one ACC "
                                    "into the membrane, one read and one write of the current)")
    return report


# -- per-event neuromorphic chips ---------------------------------------------------------------------
def per_event_snn_energy(
    layers: Sequence[SpikingLayerActivity],
    profile: ProfileLike,
    runs_per_inference: int = 1,
) -> EnergyReport:
    """Energy of fully connected spiking layers on a chip priced per event (``per-event``).

    Per layer, with ``R = runs_per_inference``::

        synaptic_events = R * input_spikes * n_out     (conv: R * the exact synops)
                          + R * output_spikes * n_out  (recurrent layers: rec_synops)
        neuron_updates  = R * n_out * time_steps
                          + R * n_out * time_steps     (current-based neurons: the current)
        spikes          = R * output_spikes
        E_compute = synaptic_events * synaptic_op_pJ + neuron_updates * neuron_update_pJ
                    + spikes * spike_pJ
        E_memory  = 0

    A recurrent layer's spikes reach its own ``n_out`` neurons one step later through the
    recurrent synapse (:class:`SpikingLayerActivity`: every spike counts, the last step's
    included); each is one more synaptic op. An output spike is still charged one
    ``spike_pJ`` (the message is sent once). A current-based (CUBA) neuron updates two
    states per step, ``i[t] = (1 - i_decay) i[t-1] + a[t]`` and ``v[t] = (1 - v_decay)
    v[t-1] + i[t]``: the current's update is charged as a second ``neuron_update_pJ``. The
    published neuron-update energies do not say how much of them the current's update takes
    (Loihi's compartment always carries both), so this is an upper bound for a CUBA layer; a
    feed-forward layer without current memory is priced as before, one update per neuron per
    step. ``breakdown`` itemises ``rec_synaptic_events`` and ``current_updates`` when present.

    The chips' published synaptic-op energies (Loihi, TrueNorth, SpiNNaker 2) include reading
    the synapse from on-core memory and do not split it out, so everything is reported as
    compute and the memory column is 0 (the report's ``notes`` say so). ``weight_fetches``
    records the synaptic events (one synapse read per event) as a count only.

    Example::

        >>> from ff_neuro.energy import SpikingLayerActivity, per_event_snn_energy
        >>> act = SpikingLayerActivity(name="lif1", n_in=784, n_out=256, time_steps=25,
        ...                            input_spikes=2000.0, output_spikes=300.0)
        >>> print(per_event_snn_energy([act], "loihi"))
        Energy per inference on profile 'loihi'
        Layer |  Params | Memory (mJ) | Compute (mJ) | Total (mJ)
        ------+---------+-------------+--------------+-----------
        lif1  | 200,704 |       0.000 |        0.013 |      0.013
        ------+---------+-------------+--------------+-----------
        Total | 200,704 |       0.000 |        0.013 |      0.013
        Note: per-event chip profile: the published synaptic-op energy includes the synapse ...
    """
    prof = _resolve(profile)
    if prof.model != "per-event":
        raise ValueError(
            f"per_event_snn_energy: profile {prof.name!r} is a {prof.model!r} profile; it needs a "
            "'per-event' profile (e.g. 'loihi')"
        )
    e_syn = prof.value("synaptic_op_pJ")
    e_neu = prof.value("neuron_update_pJ")
    e_spk = prof.value("spike_pJ")
    conv = prof.synop_convention
    report = EnergyReport(
        profile=prof.name, runs_per_inference=runs_per_inference, model="per-event",
        notes=["per-event chip profile: the published synaptic-op energy includes the synapse "
               "memory read and is not split, so all energy is reported as compute "
               "(memory column 0).", synop_note(conv, layers)],
        synop_convention=conv,
    )
    runs = report.runs_per_inference
    for act in layers:
        if not isinstance(act, SpikingLayerActivity):
            raise TypeError(
                f"per_event_snn_energy: layers must be SpikingLayerActivity, got {type(act).__name__}")
        events = (act.ff_events(conv) + act.rec_events(conv)) * runs
        updates, cur_updates = _neuron_updates(act, runs)
        spikes = act.output_spikes * runs
        syn_pJ, neu_pJ, spk_pJ = events * e_syn, updates * e_neu, spikes * e_spk
        extra = _dynamics_fields(act, runs, cur_updates)
        if act.recurrent:
            extra["rec_synaptic_events"] = act.rec_events(conv) * runs
        breakdown = {
            "spikes": spikes,
            "synaptic_ops_pJ": syn_pJ,
            "neuron_updates_pJ": neu_pJ,
            "spikes_pJ": spk_pJ,
        }
        if "rec_synaptic_events" in extra:
            breakdown["rec_synaptic_events"] = extra["rec_synaptic_events"]
            breakdown["rec_synaptic_ops_pJ"] = extra["rec_synaptic_events"] * e_syn
        if "current_updates" in extra:
            breakdown["current_updates"] = cur_updates
            breakdown["current_updates_pJ"] = cur_updates * e_neu
        report.layers.append(LayerCost(
            name=act.name,
            kind="snn",
            parameters=act.weight_parameters,
            weight_fetches=events,
            macs=0,
            accs=0,
            neuron_updates=updates,
            memory_pJ=0.0,
            compute_pJ=syn_pJ + neu_pJ + spk_pJ,
            synaptic_events=events,
            breakdown=breakdown,
            **extra,
        ))
    _dynamics_notes(report, layers, "charged as a second neuron update (an upper bound: the "
                                    "published neuron-update energy does not split the two)")
    return report
