"""Analytical inference-energy estimates in the style of FFGAF-SNN Table 2.

Energies are computed in picojoules (pJ) per layer and reported in millijoules
(1 mJ = 1e9 pJ). Two accountings are provided:

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

Every operation count (and so every energy) is multiplied by ``runs_per_inference``: a
Forward-Forward label sweep runs the network once per candidate label. Parameter counts are not.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence, Union

from .profiles import HardwareProfile, load_profile

__all__ = [
    "PJ_PER_MJ",
    "LayerCost",
    "EnergyReport",
    "SpikingLayerActivity",
    "fc_parameter_count",
    "mlp_parameter_count",
    "ann_mlp_energy",
    "snn_energy",
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
    """
    _check_count("fc_parameter_count", "n_in", n_in, integer=True, positive=True)
    _check_count("fc_parameter_count", "n_out", n_out, integer=True, positive=True)
    n_in, n_out = int(n_in), int(n_out)
    return n_in * n_out + (n_out if bias else 0)


def mlp_parameter_count(layer_sizes: Sequence[int], bias: bool = False) -> int:
    """Sum of ``fc_parameter_count`` over consecutive pairs of ``layer_sizes``."""
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least 2 entries (input, output), got {sizes}")
    return sum(fc_parameter_count(a, b, bias) for a, b in zip(sizes[:-1], sizes[1:]))


@dataclass
class LayerCost:
    """Operation counts and energies of one layer for one inference.

    ``memory_pJ = weight_fetches * weight_fetch_pJ``;
    ``compute_pJ = macs * mac_pJ + accs * acc_pJ + neuron_updates * neuron_update_pJ``;
    ``total_pJ = memory_pJ + compute_pJ``. Counts are per inference (already multiplied by
    the report's ``runs_per_inference``) and may be fractional (means over samples).
    ``synaptic_events`` is 0 for ANN layers.
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
        ):
            _check_count(owner, fname, getattr(self, fname))

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
    """

    profile: str
    layers: list[LayerCost] = field(default_factory=list)
    runs_per_inference: int = 1

    def __post_init__(self) -> None:
        _check_count("EnergyReport", "runs_per_inference", self.runs_per_inference,
                     integer=True, positive=True)
        self.runs_per_inference = int(self.runs_per_inference)
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
        return self.total_pJ / PJ_PER_MJ

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (totals in mJ and pJ, plus per-layer costs)."""
        return {
            "profile": self.profile,
            "parameters": self.parameters,
            "memory_mJ": self.memory_mJ,
            "compute_mJ": self.compute_mJ,
            "total_mJ": self.total_mJ,
            "memory_pJ": self.memory_pJ,
            "compute_pJ": self.compute_pJ,
            "total_pJ": self.total_pJ,
            "runs_per_inference": self.runs_per_inference,
            "layers": [layer.to_dict() for layer in self.layers],
        }

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
        out = [f"Energy per inference on profile {self.profile!r}"]
        if self.runs_per_inference != 1:
            out[0] += f" ({self.runs_per_inference} runs per inference, included)"
        out += [line(header), rule]
        out += [line(c) for c in cells[1:-1]]
        out += [rule, line(cells[-1])]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format_table()


@dataclass
class SpikingLayerActivity:
    """Measured activity of one fully connected spiking layer during one run.

    ``input_spikes`` / ``output_spikes``: mean spike counts per run, summed over the layer's
    input / output neurons and all ``time_steps``, averaged over samples. Hence
    ``0 <= input_spikes <= n_in * time_steps`` and ``0 <= output_spikes <= n_out * time_steps``.
    """

    name: str
    n_in: int
    n_out: int
    time_steps: int
    input_spikes: float
    output_spikes: float

    def __post_init__(self) -> None:
        owner = f"SpikingLayerActivity {self.name!r}"
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

    @property
    def synaptic_events(self) -> float:
        """``input_spikes * n_out``: every input spike reaches every output neuron."""
        return self.input_spikes * self.n_out


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
    """
    prof = _resolve(profile)
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
    """
    prof = _resolve(profile)
    report = EnergyReport(profile=prof.name, runs_per_inference=runs_per_inference)
    runs = report.runs_per_inference
    for act in layers:
        if not isinstance(act, SpikingLayerActivity):
            raise TypeError(f"snn_energy: layers must be SpikingLayerActivity, got {type(act).__name__}")
        events = act.synaptic_events * runs
        accs = events * prof.acc_per_synaptic_event
        updates = act.n_out * act.time_steps * runs
        report.layers.append(
            LayerCost(
                name=act.name,
                kind="snn",
                parameters=fc_parameter_count(act.n_in, act.n_out),
                weight_fetches=events,
                macs=0,
                accs=accs,
                neuron_updates=updates,
                memory_pJ=events * prof.weight_fetch_pJ,
                compute_pJ=accs * prof.acc_pJ + updates * prof.neuron_update_pJ,
                synaptic_events=events,
            )
        )
    return report
