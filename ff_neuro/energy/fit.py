"""Does a network fit on a chip? Cores per layer from a profile's ``limits``.

Mapping model (``fit_check``): each layer gets its own cores (cores are not shared between
layers); a core holds at most ``neurons_per_core`` neurons of the layer together with all their
fan-in synapses (``n_in`` each for a dense layer; ``C_in * kh * kw`` for a conv layer, its
worst case). The synapse capacity of a core is

    S = min(limits.synapses_per_core, floor(limits.synaptic_memory_bits_per_core / weight_bits))

(whichever of the two the profile states; ``weight_bits`` from ``formats.weight_bits`` unless
given). So a layer places ``k = min(neurons_per_core, floor(S / n_in))`` neurons per core and
needs ``ceil(n_out / k)`` cores. A layer is not mappable when one neuron's fan-in exceeds ``S``
or ``limits.axons_per_core`` (splitting a neuron's fan-in over several neurons is not
modelled). The net fits on one chip when every layer is mappable, the cores sum to at most
``limits.cores`` and chip-wide ``neurons_per_chip`` / ``synapses_per_chip`` limits hold.

Synapses are counted dense (``n_in * n_out``; a conv layer expanded without weight sharing,
exactly: border neurons have fewer) and stored at ``weight_bits`` each, without index or header
overhead, so a synaptic-memory bound is optimistic.

A layer with a recurrent synapse (its own spikes back to its neurons, an ``n_out x n_out``
dense matrix) stores those synapses beside the feed-forward ones: each neuron's fan-in is
``n_in + n_out`` (the recurrent spikes arrive on ``n_out`` more axons), the layer holds
``n_in * n_out + n_out * n_out`` synapses, and ``k``, the axon check and the chip-wide
synapse total use these. The recurrent fan-in is ``LayerFit.rec_fan_in`` (0 for a
feed-forward layer, which is placed exactly as before).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from .estimator import ProfileLike
from .profiles import HardwareProfile, load_profile

__all__ = ["LayerFit", "FitReport", "fit_check"]


@dataclass
class LayerFit:
    """Placement of one layer: ``neurons_per_core`` neurons (with ``synapses_per_core`` synapses)
    on each of ``cores`` cores; ``cores`` is None when the layer is not mappable (``problems``).
    ``n_in`` is the feed-forward fan-in of one neuron and ``rec_fan_in`` its recurrent fan-in
    (``n_out`` for a layer with a recurrent synapse, else 0); ``synapses`` counts both."""

    name: str
    n_in: int
    n_out: int
    synapses: int
    neurons_per_core: int
    synapses_per_core: int
    cores: int | None
    limited_by: str
    problems: list[str] = field(default_factory=list)
    rec_fan_in: int = 0

    @property
    def mappable(self) -> bool:
        return self.cores is not None

    @property
    def fan_in(self) -> int:
        """Synapses of one neuron: feed-forward plus recurrent."""
        return self.n_in + self.rec_fan_in

    @property
    def rec_synapses(self) -> int:
        """Synapses of the recurrent connection: ``n_out * n_out``, 0 without one."""
        return self.rec_fan_in * self.n_out

    @property
    def shape(self) -> str:
        """``"n_in->n_out"``; ``"n_in+n_out rec->n_out"`` with a recurrent synapse."""
        rec = f"+{self.rec_fan_in} rec" if self.rec_fan_in else ""
        return f"{self.n_in}{rec}->{self.n_out}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n_in": self.n_in,
            "n_out": self.n_out,
            "synapses": self.synapses,
            "neurons_per_core": self.neurons_per_core,
            "synapses_per_core": self.synapses_per_core,
            "cores": self.cores,
            "limited_by": self.limited_by,
            "mappable": self.mappable,
            "problems": list(self.problems),
            "rec_fan_in": self.rec_fan_in,
            "rec_synapses": self.rec_synapses,
        }


@dataclass
class FitReport:
    """Result of :func:`fit_check`: per-layer placements and the chip-level verdict."""

    profile: str
    layers: list[LayerFit]
    cores_per_chip: int
    neuron_capacity_per_core: int
    synapse_capacity_per_core: int | None
    synapse_capacity_basis: str
    neurons_per_chip: int | None = None
    synapses_per_chip: int | None = None

    @property
    def mappable(self) -> bool:
        return all(layer.mappable for layer in self.layers)

    @property
    def total_cores(self) -> int | None:
        """Cores summed over layers; None when a layer is not mappable."""
        if not self.mappable:
            return None
        return sum(layer.cores for layer in self.layers)  # type: ignore[misc]

    @property
    def total_neurons(self) -> int:
        return sum(layer.n_out for layer in self.layers)

    @property
    def total_synapses(self) -> int:
        return sum(layer.synapses for layer in self.layers)

    @property
    def chips_needed(self) -> int | None:
        """Chips needed by cores and by chip-wide neuron/synapse limits; None if not mappable."""
        cores = self.total_cores
        if cores is None:
            return None
        need = [math.ceil(cores / self.cores_per_chip)]
        if self.neurons_per_chip:
            need.append(math.ceil(self.total_neurons / self.neurons_per_chip))
        if self.synapses_per_chip:
            need.append(math.ceil(self.total_synapses / self.synapses_per_chip))
        return max(1, *need)

    @property
    def fits_on_one_chip(self) -> bool:
        return self.chips_needed == 1

    @property
    def problems(self) -> list[str]:
        """Every reason the net does not fit on one chip (empty when it fits)."""
        out = [f"{layer.name}: {p}" for layer in self.layers for p in layer.problems]
        cores = self.total_cores
        if cores is not None and cores > self.cores_per_chip:
            out.append(f"needs {cores:,} cores, a chip has {self.cores_per_chip:,}")
        if self.neurons_per_chip and self.total_neurons > self.neurons_per_chip:
            out.append(f"{self.total_neurons:,} neurons exceed {self.neurons_per_chip:,} per chip")
        if self.synapses_per_chip and self.total_synapses > self.synapses_per_chip:
            out.append(f"{self.total_synapses:,} synapses exceed {self.synapses_per_chip:,} per chip")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary."""
        return {
            "profile": self.profile,
            "fits_on_one_chip": self.fits_on_one_chip,
            "mappable": self.mappable,
            "total_cores": self.total_cores,
            "cores_per_chip": self.cores_per_chip,
            "chips_needed": self.chips_needed,
            "total_neurons": self.total_neurons,
            "total_synapses": self.total_synapses,
            "neuron_capacity_per_core": self.neuron_capacity_per_core,
            "synapse_capacity_per_core": self.synapse_capacity_per_core,
            "synapse_capacity_basis": self.synapse_capacity_basis,
            "neurons_per_chip": self.neurons_per_chip,
            "synapses_per_chip": self.synapses_per_chip,
            "problems": self.problems,
            "layers": [layer.to_dict() for layer in self.layers],
        }

    def format(self) -> str:
        """Text table: Layer | Shape | Synapses | Neurons/core | Synapses/core | Cores | Limited by."""
        header = ("Layer", "Shape", "Synapses", "Neurons/core", "Synapses/core", "Cores", "Limited by")
        rows = [header]
        for layer in self.layers:
            rows.append((
                layer.name,
                layer.shape,
                f"{layer.synapses:,}",
                f"{layer.neurons_per_core:,}",
                f"{layer.synapses_per_core:,}",
                "-" if layer.cores is None else f"{layer.cores:,}",
                layer.limited_by,
            ))
        total = self.total_cores
        rows.append(("Total", "", f"{self.total_synapses:,}", "", "",
                     "-" if total is None else f"{total:,}", ""))
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]

        def line(r: Sequence[str]) -> str:
            return " | ".join([r[0].ljust(widths[0]), r[1].ljust(widths[1])]
                              + [r[i].rjust(widths[i]) for i in range(2, 6)]
                              + [r[6].ljust(widths[6])]).rstrip()

        rule = "-+-".join("-" * w for w in widths)
        cap = (f"{self.neuron_capacity_per_core:,} neurons"
               + ("" if self.synapse_capacity_per_core is None
                  else f", {self.synapse_capacity_per_core:,} synapses ({self.synapse_capacity_basis})"))
        out = [f"Fit on profile {self.profile!r}: per core {cap}; {self.cores_per_chip:,} cores per chip",
               line(header), rule]
        out += [line(r) for r in rows[1:-1]]
        out += [rule, line(rows[-1])]
        if self.fits_on_one_chip:
            out.append(f"Fits on one chip: {total:,} of {self.cores_per_chip:,} cores.")
        else:
            chips = self.chips_needed
            verdict = "Does not fit on one chip"
            if chips is not None:
                verdict += f" (needs {chips} chips)"
            out.append(verdict + ":")
            out += [f"  - {p}" for p in self.problems]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format()


def _int_limit(prof: HardwareProfile, name: str) -> int | None:
    value = prof.limit(name)
    return None if value is None else int(value)


def _capacities(prof: HardwareProfile, weight_bits: int | None) -> tuple:
    """``(cores_per_chip, neurons_per_core, synapse capacity, its basis, axons_per_core)``."""
    missing = [k for k in ("cores", "neurons_per_core") if prof.limit(k) is None]
    if missing:
        raise ValueError(
            f"fit_check: profile {prof.name!r} states no limits {missing} "
            f"(its limits: {dict(prof.limits) or 'none'}); use a chip profile such as 'loihi'"
        )
    cores_per_chip = _int_limit(prof, "cores")
    n_cap = _int_limit(prof, "neurons_per_core")
    if not cores_per_chip or not n_cap:
        raise ValueError(f"fit_check: profile {prof.name!r} has zero cores or neurons_per_core")
    s_caps: list[tuple[int, str]] = []
    spc = _int_limit(prof, "synapses_per_core")
    if spc is not None:
        s_caps.append((spc, "synapses_per_core"))
    mem = _int_limit(prof, "synaptic_memory_bits_per_core")
    if mem is not None:
        wb = weight_bits if weight_bits is not None else prof.format_bits("weight_bits")
        if wb is None:
            raise ValueError(
                f"fit_check: profile {prof.name!r} limits synaptic memory but states no "
                "formats.weight_bits; pass weight_bits=")
        if isinstance(wb, bool) or int(wb) != wb or wb <= 0:
            raise ValueError(f"weight_bits must be a positive integer, got {wb!r}")
        s_caps.append((mem // int(wb), f"{mem:,} bits / {int(wb)}-bit weights"))
    s_cap, s_basis = min(s_caps) if s_caps else (None, "no per-core synapse limit")
    return cores_per_chip, n_cap, s_cap, s_basis, _int_limit(prof, "axons_per_core")


def _layer_geometry(net) -> list[tuple[str, int, int, int, int]]:
    """``(name, fan_in, neurons, synapses, rec_fan_in)`` per layer of a Network: a conv layer
    is expanded to its synapses without weight sharing (an upper bound for chips that share
    kernels), its synapses counted exactly (padded borders reach fewer outputs) and its fan-in
    the worst case ``C_in * kh * kw``. A recurrent synapse adds ``rec_fan_in = n_out`` to each
    neuron and ``n_out * n_out`` to the synapses."""
    from ..model.synapse import Conv2d
    out = []
    for i, layer in enumerate(net.deployed_layers()):
        syn = layer.synapse
        name = f"conv{i + 1}" if isinstance(syn, Conv2d) else f"fc{i + 1}"
        rec = layer.recurrent
        rec_fan_in = 0 if rec is None else rec.fan_in
        synapses = syn.synapse_count() + (0 if rec is None else rec.synapse_count())
        out.append((name, syn.fan_in, syn.n_out, synapses, rec_fan_in))
    return out


def fit_or_none(net, profile: ProfileLike) -> "FitReport | None":
    """:func:`fit_check` of ``net`` on ``profile`` for pricing its static energy (the chips
    it needs), None where the profile states no capacity limits or the network does not map
    onto it (:meth:`~ff_neuro.energy.NetworkActivity.report` then counts one chip)."""
    try:
        fit = fit_check(net, profile)
    except (ValueError, KeyError):
        return None
    return fit if fit.chips_needed else None


def fit_check(
    net_or_sizes,
    profile: ProfileLike,
    *,
    weight_bits: int | None = None,
    include_input: bool = False,
    names: Sequence[str] | None = None,
) -> FitReport:
    """Cores needed on ``profile`` by a :class:`~ff_neuro.model.Network` (dense and conv
    layers alike) or by a fully connected net given as ``layer_sizes = [n_in, n_1, ...,
    n_L]``.

    See the module docstring for the mapping model. ``profile`` must state ``limits.cores`` and
    ``limits.neurons_per_core``. ``include_input=True`` also places the input neurons (spike
    generators, no synapses) on cores; by default inputs are injected from outside.
    """
    prof = load_profile(profile)
    if hasattr(net_or_sizes, "layers"):
        geometry = _layer_geometry(net_or_sizes)
        n0 = net_or_sizes.layers[0].n_in
    else:
        sizes = list(net_or_sizes)
        if len(sizes) < 2:
            raise ValueError(f"layer_sizes needs at least 2 entries (input, output), got {sizes}")
        for n in sizes:
            if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
                raise ValueError(f"layer sizes must be positive integers, got {sizes}")
        geometry = [(f"fc{i + 1}", a, b, a * b, 0) for i, (a, b) in enumerate(zip(sizes[:-1],
                                                                                 sizes[1:]))]
        n0 = sizes[0]
    if names is not None:
        names = list(names)
        if len(names) != len(geometry):
            raise ValueError(f"got {len(names)} names for {len(geometry)} layers")
        geometry = [(nm,) + g[1:] for nm, g in zip(names, geometry)]
    cores_per_chip, n_cap, s_cap, s_basis, axons = _capacities(prof, weight_bits)
    layers: list[LayerFit] = []
    if include_input:
        layers.append(LayerFit("input", 0, n0, 0, min(n_cap, n0), 0, math.ceil(n0 / n_cap),
                               "neurons_per_core"))
    for name, fan_in, n_out, synapses, rec_fan_in in geometry:
        total_fan_in = fan_in + rec_fan_in           # feed-forward and recurrent synapses
        k, limited_by, problems = _neurons_per_core(total_fan_in, n_cap, s_cap, axons)
        k = min(k, n_out)
        cores = None if problems else math.ceil(n_out / k)
        layers.append(LayerFit(name, fan_in, n_out, synapses, k, k * total_fan_in, cores,
                               limited_by, problems, rec_fan_in=rec_fan_in))
    return FitReport(
        profile=prof.name,
        layers=layers,
        cores_per_chip=cores_per_chip,
        neuron_capacity_per_core=n_cap,
        synapse_capacity_per_core=s_cap,
        synapse_capacity_basis=s_basis,
        neurons_per_chip=_int_limit(prof, "neurons_per_chip"),
        synapses_per_chip=_int_limit(prof, "synapses_per_chip"),
    )


def _neurons_per_core(fan_in: int, n_cap: int, s_cap, axons):
    """How many neurons of fan-in ``fan_in`` one core holds: ``(k, limited_by, problems)``;
    ``problems`` is non-empty when the layer cannot be mapped (then ``k`` may be 0)."""
    problems: list[str] = []
    if axons is not None and fan_in > axons:
        problems.append(f"fan-in {fan_in:,} exceeds {axons:,} axons per core "
                        "(fan-in splitting not modelled)")
    by_syn = None if s_cap is None else s_cap // fan_in
    if by_syn is not None and by_syn == 0:
        problems.append(f"one neuron's {fan_in:,} synapses exceed the {s_cap:,} synapses a core "
                        "holds")
    if by_syn is not None and by_syn < n_cap:
        k, limited_by = by_syn, "synapses_per_core"
    else:
        k, limited_by = n_cap, "neurons_per_core"
    if problems and problems[0].startswith("fan-in"):
        limited_by = "axons_per_core"
    return k, limited_by, problems
