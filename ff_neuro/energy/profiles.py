"""Hardware energy profiles: per-operation constants loaded from cited YAML files.

A profile is a YAML mapping with these top-level keys (anything else is an error)::

    name: ffgaf-table2            # required, non-empty string
    description: ...              # required string
    model: ffgaf                  # optional: ffgaf (default) | lemaire | per-event
    synop_convention: dense       # optional: dense (default) | stored (see below)
    constants:                    # required mapping: constant name -> entry
      weight_fetch_pJ:
        value: 8.333333333333334  # required number (int or float, finite, >= 0)
        unit: pJ                  # required; the unit the name implies (see KNOWN_CONSTANTS)
        source: "paper, table/page"   # required, non-empty: where the number comes from
        note: "..."               # optional string
        estimate: true            # optional bool: the number is fitted/estimated, not measured
    formats:                      # optional mapping of numeric formats (KNOWN_FORMATS)
      weight_bits: 8              # a bare positive integer, or a cited entry:
      state_bits: {value: 24, source: "paper, page", note: "...", estimate: false}
    limits:                       # optional mapping of capacity limits (KNOWN_LIMITS)
      cores: 128                  # a bare non-negative number, or a cited entry as above
      neurons_per_core: {value: 1024, source: "Davies et al. 2018, Table 1"}

``model`` selects the accounting ``snn_energy`` applies (see ``ff_neuro.energy.estimator``):

* ``ffgaf``     FFGAF-SNN Table 2 style: one weight fetch (``weight_fetch_pJ``) per weight or
  synaptic event, one MAC per weight (ANN), ``acc_per_synaptic_event`` accumulates per event.
* ``lemaire``   Lemaire et al. 2022: operations (``mac_pJ``, ``acc_pJ``) plus every memory access
  priced by the size of the memory it hits,
  ``E(bits) = sram_access_pJ_per_bit * bits + sram_access_pJ_offset`` (read = write), with
  memories sized in words of ``formats.word_bits`` bits.
* ``per-event`` neuromorphic chips: ``synaptic_op_pJ`` per synaptic event, ``neuron_update_pJ``
  per neuron per time step, ``spike_pJ`` per output spike.

Known constants (``MODEL_REQUIRED_CONSTANTS[model]`` must be present; ``OPTIONAL_CONSTANTS``
default as listed there; the rest are informational and have no default):

* ``weight_fetch_pJ``  memory access energy per weight read (ANN) / per synaptic event (SNN).
* ``mac_pJ``           one multiply-accumulate.
* ``acc_pJ``           one accumulate.
* ``acc_per_synaptic_event`` (unit ``count``) accumulates charged per synaptic event.
* ``neuron_update_pJ`` one neuron state update per neuron per time step (default 0); a
  current-based neuron makes two per step (its current and its membrane).
* ``sram_access_pJ_per_bit`` (unit ``pJ/bit``) and ``sram_access_pJ_offset``: slope and offset
  of the energy of one SRAM word access as a function of the memory's size in bits.
* ``sram_read_1MB_pJ`` one 64-bit read from a 1 MB SRAM (FFGAF's CSNN memory column).
* ``synaptic_op_pJ``   one synaptic event (spike delivered over one synapse) on a chip.
* ``synaptic_update_pJ`` one on-chip learning update of one synapse (informational).
* ``neuron_update_inactive_pJ`` one update of an idle neuron (informational).
* ``spike_pJ``         one spike sent within a tile (default 0).
* ``spike_hop_pJ``     one spike crossing one tile-to-tile hop (informational).
* ``static_power_W`` (unit ``W``) a chip's static (idle) power; with ``step_time_us`` (unit
  ``us``, the wall time of one algorithmic time step) it gives the static energy per
  inference, ``static_power_W x chips x steps x step_time_us``, printed beside the dynamic
  energy (the per-operation sum).

``synop_convention`` says how synaptic events are counted: ``dense`` (every synapse in a
dense layer's row or a conv kernel's window, zero weights included: FFGAF's and Lemaire et
al.'s accounting) or ``stored`` (only the synapses a chip stores, the nonzero weights: what
Loihi's synaptic-op counters count).

Profiles ship in ``ff_neuro.hardware_profiles`` (the repository's ``hardware_profiles/``);
``load_profile`` accepts a profile name (the YAML file's stem there) or a path to a YAML file.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Union

import yaml

__all__ = [
    "ProfileError",
    "Constant",
    "HardwareProfile",
    "load_profile",
    "list_profiles",
    "profile_dir",
    "KNOWN_CONSTANTS",
    "REQUIRED_CONSTANTS",
    "OPTIONAL_CONSTANTS",
    "MODELS",
    "MODEL_REQUIRED_CONSTANTS",
    "MODEL_REQUIRED_FORMATS",
    "KNOWN_FORMATS",
    "KNOWN_LIMITS",
    "Citation",
]

#: constant name -> required unit
KNOWN_CONSTANTS: dict[str, str] = {
    "weight_fetch_pJ": "pJ",
    "mac_pJ": "pJ",
    "acc_pJ": "pJ",
    "acc_per_synaptic_event": "count",
    "neuron_update_pJ": "pJ",
    "sram_access_pJ_per_bit": "pJ/bit",
    "sram_access_pJ_offset": "pJ",
    "sram_read_1MB_pJ": "pJ",
    "synaptic_op_pJ": "pJ",
    "synaptic_update_pJ": "pJ",
    "neuron_update_inactive_pJ": "pJ",
    "spike_pJ": "pJ",
    "spike_hop_pJ": "pJ",
    "static_power_W": "W",
    "step_time_us": "us",
}
#: how a profile counts synaptic events (``synop_convention``)
SYNOP_CONVENTIONS: dict[str, str] = {
    "dense": "every synapse in a dense layer's rows or a conv kernel's window, zero weights "
             "included",
    "stored": "the stored (nonzero-weight) synapses each input event reaches, as Loihi's "
              "synaptic-op counters count them",
}
#: constants the ``ffgaf`` model (the default) requires
REQUIRED_CONSTANTS: tuple[str, ...] = (
    "weight_fetch_pJ",
    "mac_pJ",
    "acc_pJ",
    "acc_per_synaptic_event",
)
#: accounting models a profile may declare with its top-level ``model`` key
MODELS: tuple[str, ...] = ("ffgaf", "lemaire", "per-event")
DEFAULT_MODEL = "ffgaf"
#: model -> constants a profile of that model must define
MODEL_REQUIRED_CONSTANTS: dict[str, tuple[str, ...]] = {
    "ffgaf": REQUIRED_CONSTANTS,
    "lemaire": ("mac_pJ", "acc_pJ", "sram_access_pJ_per_bit", "sram_access_pJ_offset"),
    "per-event": ("synaptic_op_pJ", "neuron_update_pJ"),
}
#: model -> formats a profile of that model must define
MODEL_REQUIRED_FORMATS: dict[str, tuple[str, ...]] = {
    "ffgaf": (),
    "lemaire": ("word_bits",),
    "per-event": (),
}
#: optional constant name -> default value used when the profile omits it
OPTIONAL_CONSTANTS: dict[str, float] = {"neuron_update_pJ": 0.0, "spike_pJ": 0.0}

#: format name -> meaning (values are positive integers, in bits)
KNOWN_FORMATS: dict[str, str] = {
    "weight_bits": "bits stored per synaptic weight (mantissa where an exponent is separate)",
    "weight_exponent_bits": "bits of a shared weight exponent",
    "activation_bits": "bits per activation (ANN)",
    "word_bits": "memory word width in bits (Lemaire's memory model prices words of this size)",
    "state_bits": "bits of a neuron state variable (current, membrane potential)",
    "spike_bits": "bits carried by one spike message (1 = binary; graded spikes carry more)",
    "synapse_bits": "bits of one crossbar synapse (connectivity)",
}
#: limit name -> meaning (values are non-negative numbers)
KNOWN_LIMITS: dict[str, str] = {
    "cores": "neuromorphic cores per chip",
    "neurons_per_core": "neurons (compartments) one core holds",
    "synapses_per_core": "synapses one core holds",
    "synaptic_memory_bits_per_core": "synaptic memory per core in bits (synapses <= bits / weight_bits)",
    "axons_per_core": "distinct inputs (axons) one core receives: a neuron's fan-in limit",
    "neurons_per_chip": "neurons one chip holds",
    "synapses_per_chip": "synapses one chip holds",
}

_TOP_LEVEL_REQUIRED = ("name", "description", "constants")
_TOP_LEVEL_OPTIONAL = ("model", "formats", "limits", "synop_convention")
_CONSTANT_REQUIRED = ("value", "unit", "source")
_CONSTANT_OPTIONAL = ("note", "estimate")
_CITED_REQUIRED = ("value", "source")
_CITED_OPTIONAL = ("note", "estimate")

PathLike = Union[str, "os.PathLike[str]"]


class ProfileError(ValueError):
    """A hardware profile is missing, malformed, or fails validation.

    Example::

        >>> from pathlib import Path
        >>> from ff_neuro.energy import ProfileError, load_profile
        >>> _ = Path("chip.yaml").write_text("{name: chip, description: mine, constants: {}}")
        >>> try:
        ...     load_profile("chip.yaml")
        ... except ProfileError as exc:                 # names the file and the entry
        ...     print(exc)
        chip.yaml: constants.weight_fetch_pJ: missing required constant(s) [...]; model
        'ffgaf' requires [...]
    """


def _err(origin: str, key: str, message: str) -> ProfileError:
    return ProfileError(f"{origin}: {key}: {message}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Constant:
    """One cited per-operation constant: ``value`` in ``unit``, taken from ``source``.

    ``unit`` must be the unit the constant's name requires (``KNOWN_CONSTANTS``); ``source``
    must name the paper and table/page; ``estimate`` flags fitted or inferred numbers.
    """

    name: str
    value: float
    unit: str
    source: str
    note: str | None = None
    estimate: bool = False
    origin: str = field(default="<memory>", compare=False, repr=False)

    def __post_init__(self) -> None:
        key = f"constants.{self.name}"
        if self.name not in KNOWN_CONSTANTS:
            raise _err(
                self.origin,
                key,
                f"unknown constant; known constants are {sorted(KNOWN_CONSTANTS)}",
            )
        if not _is_number(self.value):
            hint = ""
            if isinstance(self.value, str):
                try:
                    float(self.value)
                    hint = " (PyYAML reads '1e-3' as a string; write 1.0e-3)"
                except ValueError:
                    pass
            raise _err(
                self.origin,
                f"{key}.value",
                f"must be a number, got {type(self.value).__name__} {self.value!r}{hint}",
            )
        if not math.isfinite(self.value) or self.value < 0:
            raise _err(self.origin, f"{key}.value", f"must be finite and >= 0, got {self.value!r}")
        expected_unit = KNOWN_CONSTANTS[self.name]
        if self.unit != expected_unit:
            raise _err(
                self.origin, f"{key}.unit", f"must be {expected_unit!r}, got {self.unit!r}"
            )
        if not isinstance(self.source, str) or not self.source.strip():
            raise _err(
                self.origin,
                f"{key}.source",
                "every constant needs a citation (paper, table/page) as a non-empty string",
            )
        if self.note is not None and not isinstance(self.note, str):
            raise _err(self.origin, f"{key}.note", "must be a string")
        if not isinstance(self.estimate, bool):
            raise _err(self.origin, f"{key}.estimate", "must be true or false")

    @classmethod
    def from_mapping(cls, name: str, entry: Any, origin: str = "<memory>") -> "Constant":
        """Build a constant from its YAML entry, rejecting missing and unknown keys."""
        key = f"constants.{name}"
        if not isinstance(entry, Mapping):
            raise _err(
                origin,
                key,
                "must be a mapping with keys value, unit, source (and optionally note, estimate)",
            )
        unknown = sorted(set(map(str, entry)) - set(_CONSTANT_REQUIRED) - set(_CONSTANT_OPTIONAL))
        if unknown:
            raise _err(
                origin,
                f"{key}.{unknown[0]}",
                f"unknown key(s) {unknown}; allowed: {list(_CONSTANT_REQUIRED + _CONSTANT_OPTIONAL)}",
            )
        for required in _CONSTANT_REQUIRED:
            if required not in entry:
                what = "a citation (paper, table/page)" if required == "source" else "a value"
                raise _err(origin, f"{key}.{required}", f"missing; every constant needs {what}")
        return cls(
            name=name,
            value=entry["value"],
            unit=entry["unit"],
            source=entry["source"],
            note=entry.get("note"),
            estimate=entry.get("estimate", False),
            origin=origin,
        )


@dataclass(frozen=True)
class Citation:
    """Where a format or limit value comes from: ``formats.<name>`` / ``limits.<name>``.

    In YAML a format or limit is either a bare number or a mapping
    ``{value, source, note?, estimate?}``; the mapping form records this citation.
    """

    key: str
    source: str
    note: str | None = None
    estimate: bool = False
    origin: str = field(default="<memory>", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source.strip():
            raise _err(
                self.origin,
                f"{self.key}.source",
                "a cited entry needs a citation (paper, table/page) as a non-empty string",
            )
        if self.note is not None and not isinstance(self.note, str):
            raise _err(self.origin, f"{self.key}.note", "must be a string")
        if not isinstance(self.estimate, bool):
            raise _err(self.origin, f"{self.key}.estimate", "must be true or false")


def _split_cited(section: str, raw: Any, origin: str) -> tuple[dict[str, Any], dict[str, Citation]]:
    """Split a ``formats``/``limits`` mapping into plain values and citations."""
    if raw is None:
        return {}, {}
    if not isinstance(raw, Mapping):
        example = "weight_bits: 8" if section == "formats" else "cores: 128"
        raise _err(origin, section, f"must be a mapping (e.g. {example})")
    values: dict[str, Any] = {}
    citations: dict[str, Citation] = {}
    for key, entry in raw.items():
        if not isinstance(key, str):
            raise _err(origin, f"{section}.{key}", "keys must be strings")
        full = f"{section}.{key}"
        if isinstance(entry, Mapping):
            unknown = sorted(set(map(str, entry)) - set(_CITED_REQUIRED) - set(_CITED_OPTIONAL))
            if unknown:
                raise _err(
                    origin,
                    f"{full}.{unknown[0]}",
                    f"unknown key(s) {unknown}; allowed: {list(_CITED_REQUIRED + _CITED_OPTIONAL)}",
                )
            for required in _CITED_REQUIRED:
                if required not in entry:
                    what = "a citation (paper, table/page)" if required == "source" else "a value"
                    raise _err(origin, f"{full}.{required}", f"missing; a cited entry needs {what}")
            values[key] = entry["value"]
            citations[full] = Citation(
                key=full,
                source=entry["source"],
                note=entry.get("note"),
                estimate=entry.get("estimate", False),
                origin=origin,
            )
        else:
            values[key] = entry
    return values, citations


@dataclass(frozen=True)
class HardwareProfile:
    """Per-operation energy constants of one target, each with its citation.

    ``model`` names the accounting the estimator applies (``ffgaf``, ``lemaire`` or
    ``per-event``; see the module docstring and ``ff_neuro.energy.estimator``). For ``ffgaf``
    the estimator prices operations as
    ``E_memory = weight_fetches * weight_fetch_pJ`` and
    ``E_compute = MACs * mac_pJ + ACCs * acc_pJ + neuron_updates * neuron_update_pJ``,
    where a spiking layer's ACCs are ``synaptic_events * acc_per_synaptic_event``.

    ``formats`` and ``limits`` hold plain numbers; ``citations`` maps ``"formats.<name>"`` /
    ``"limits.<name>"`` to the :class:`Citation` of entries given in the cited form.

    Example::

        >>> from ff_neuro.energy import load_profile
        >>> loihi = load_profile("loihi")
        >>> loihi.model, loihi.value("synaptic_op_pJ"), loihi.limit("cores")
        ('per-event', 23.6, 128)
        >>> loihi.constants["synaptic_op_pJ"].source
        'Davies et al., IEEE Micro 2018, Table 2...'
        >>> lemaire = load_profile("lemaire2022-45nm")
        >>> lemaire.format_bits("word_bits"), round(lemaire.sram_access_pJ(8 * 1024), 2)
        (32, 13.29)
    """

    name: str
    description: str
    constants: dict[str, Constant]
    formats: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, float] = field(default_factory=dict)
    origin: str = field(default="<memory>", compare=False)
    model: str = DEFAULT_MODEL
    citations: dict[str, Citation] = field(default_factory=dict)
    synop_convention: str = "dense"

    def __post_init__(self) -> None:
        o = self.origin
        if self.synop_convention not in SYNOP_CONVENTIONS:
            raise _err(o, "synop_convention", f"must be one of {list(SYNOP_CONVENTIONS)}, got "
                       f"{self.synop_convention!r}")
        if not isinstance(self.name, str) or not self.name.strip():
            raise _err(o, "name", "must be a non-empty string")
        if not isinstance(self.description, str):
            raise _err(o, "description", "must be a string")
        if not isinstance(self.constants, Mapping):
            raise _err(o, "constants", "must be a mapping of constant name -> entry")
        for cname, const in self.constants.items():
            if not isinstance(const, Constant) or const.name != cname:
                raise _err(o, f"constants.{cname}", "must be a Constant named after its key")
        if not isinstance(self.model, str) or self.model not in MODELS:
            raise _err(o, "model", f"must be one of {list(MODELS)}, got {self.model!r}")
        required = MODEL_REQUIRED_CONSTANTS[self.model]
        missing = [c for c in required if c not in self.constants]
        if missing:
            raise _err(
                o,
                f"constants.{missing[0]}",
                f"missing required constant(s) {missing}; model {self.model!r} requires "
                f"{list(required)}",
            )
        if not isinstance(self.formats, Mapping):
            raise _err(o, "formats", "must be a mapping (e.g. weight_bits: 8)")
        for fkey, fval in self.formats.items():
            if not isinstance(fkey, str):
                raise _err(o, f"formats.{fkey}", "keys must be strings")
            if fkey not in KNOWN_FORMATS:
                raise _err(
                    o, f"formats.{fkey}", f"unknown format; known formats are {sorted(KNOWN_FORMATS)}"
                )
            if not _is_number(fval) or not float(fval).is_integer() or fval <= 0:
                raise _err(o, f"formats.{fkey}", f"must be a positive integer (bits), got {fval!r}")
        missing_formats = [f for f in MODEL_REQUIRED_FORMATS[self.model] if f not in self.formats]
        if missing_formats:
            raise _err(
                o,
                f"formats.{missing_formats[0]}",
                f"missing; model {self.model!r} requires formats "
                f"{list(MODEL_REQUIRED_FORMATS[self.model])}",
            )
        if not isinstance(self.limits, Mapping):
            raise _err(o, "limits", "must be a mapping (e.g. cores: 128)")
        for lkey, lval in self.limits.items():
            if not isinstance(lkey, str):
                raise _err(o, f"limits.{lkey}", "keys must be strings")
            if lkey not in KNOWN_LIMITS:
                raise _err(
                    o, f"limits.{lkey}", f"unknown limit; known limits are {sorted(KNOWN_LIMITS)}"
                )
            if not _is_number(lval) or not math.isfinite(lval) or lval < 0:
                raise _err(o, f"limits.{lkey}", f"must be a non-negative number, got {lval!r}")
        if not isinstance(self.citations, Mapping):
            raise _err(o, "citations", "must be a mapping of 'formats.x'/'limits.x' -> Citation")
        for ckey, cit in self.citations.items():
            section, _, cname = str(ckey).partition(".")
            target = self.formats if section == "formats" else self.limits if section == "limits" else None
            if not isinstance(cit, Citation) or target is None or cname not in target:
                raise _err(o, str(ckey), "citation for an entry that does not exist")

    # -- accessors -------------------------------------------------------------------------
    def value(self, name: str) -> float:
        """Value of constant ``name``; optional constants fall back to their defaults."""
        if name in self.constants:
            return float(self.constants[name].value)
        if name in OPTIONAL_CONSTANTS:
            return float(OPTIONAL_CONSTANTS[name])
        raise KeyError(f"profile {self.name!r} has no constant {name!r}")

    def has(self, name: str) -> bool:
        """True when constant ``name`` is defined or has a default."""
        return name in self.constants or name in OPTIONAL_CONSTANTS

    def limit(self, name: str) -> float | None:
        """Limit ``name`` (``KNOWN_LIMITS``) or None when the profile does not state it."""
        value = self.limits.get(name)
        return None if value is None else value

    def format_bits(self, name: str) -> int | None:
        """Format ``name`` (``KNOWN_FORMATS``, in bits) or None when the profile does not state it."""
        value = self.formats.get(name)
        return None if value is None else int(value)

    def sram_access_pJ(self, bits: float) -> float:
        """Energy of one word access to an SRAM of ``bits`` bits (Lemaire's linear model)."""
        if bits < 0:
            raise ValueError(f"memory size must be >= 0 bits, got {bits!r}")
        return self.value("sram_access_pJ_per_bit") * bits + self.value("sram_access_pJ_offset")

    @property
    def weight_fetch_pJ(self) -> float:
        return self.value("weight_fetch_pJ")

    @property
    def mac_pJ(self) -> float:
        return self.value("mac_pJ")

    @property
    def acc_pJ(self) -> float:
        return self.value("acc_pJ")

    @property
    def acc_per_synaptic_event(self) -> float:
        return self.value("acc_per_synaptic_event")

    @property
    def neuron_update_pJ(self) -> float:
        return self.value("neuron_update_pJ")

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, data: Any, origin: str = "<memory>") -> "HardwareProfile":
        """Validate a parsed YAML document and build the profile."""
        if not isinstance(data, Mapping):
            raise ProfileError(
                f"{origin}: top level must be a mapping with keys "
                f"{list(_TOP_LEVEL_REQUIRED + _TOP_LEVEL_OPTIONAL)}, got {type(data).__name__}"
            )
        unknown = sorted(set(map(str, data)) - set(_TOP_LEVEL_REQUIRED) - set(_TOP_LEVEL_OPTIONAL))
        if unknown:
            raise _err(
                origin,
                unknown[0],
                f"unknown top-level key(s) {unknown}; "
                f"allowed: {list(_TOP_LEVEL_REQUIRED + _TOP_LEVEL_OPTIONAL)}",
            )
        for required in _TOP_LEVEL_REQUIRED:
            if required not in data:
                raise _err(origin, required, "missing required top-level key")
        raw_constants = data["constants"]
        if not isinstance(raw_constants, Mapping):
            raise _err(origin, "constants", "must be a mapping of constant name -> entry")
        constants: dict[str, Constant] = {}
        for cname, entry in raw_constants.items():
            cname = str(cname)
            if cname not in KNOWN_CONSTANTS:
                raise _err(
                    origin,
                    f"constants.{cname}",
                    f"unknown constant; known constants are {sorted(KNOWN_CONSTANTS)}",
                )
            constants[cname] = Constant.from_mapping(cname, entry, origin)
        formats, format_citations = _split_cited("formats", data.get("formats"), origin)
        limits, limit_citations = _split_cited("limits", data.get("limits"), origin)
        return cls(
            name=data["name"],
            description=data["description"],
            constants=constants,
            formats=formats,
            limits=limits,
            origin=origin,
            model=data.get("model", DEFAULT_MODEL),
            citations={**format_citations, **limit_citations},
            synop_convention=data.get("synop_convention", "dense"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The profile as a plain mapping in the YAML schema."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
        }
        if self.model != DEFAULT_MODEL:
            out["model"] = self.model
        if self.synop_convention != "dense":
            out["synop_convention"] = self.synop_convention
        out["constants"] = {}
        for cname, c in self.constants.items():
            entry: dict[str, Any] = {"value": c.value, "unit": c.unit, "source": c.source}
            if c.note is not None:
                entry["note"] = c.note
            if c.estimate:
                entry["estimate"] = True
            out["constants"][cname] = entry
        for section, values in (("formats", self.formats), ("limits", self.limits)):
            if not values:
                continue
            out[section] = {}
            for key, val in values.items():
                cit = self.citations.get(f"{section}.{key}")
                if cit is None:
                    out[section][key] = val
                    continue
                entry: dict[str, Any] = {"value": val, "source": cit.source}
                if cit.note is not None:
                    entry["note"] = cit.note
                if cit.estimate:
                    entry["estimate"] = True
                out[section][key] = entry
        return out


# -- YAML loading ------------------------------------------------------------------------------
class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (PyYAML silently keeps the last)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def profile_dir():
    """Directory holding the bundled profiles.

    ``importlib.resources.files("ff_neuro.hardware_profiles")`` when the package is installed
    (a Traversable), else the repository's ``hardware_profiles/`` (a ``Path``).
    """
    try:
        from importlib.resources import files

        return files("ff_neuro.hardware_profiles")
    except (ImportError, TypeError, ValueError):
        return Path(__file__).resolve().parents[2] / "hardware_profiles"


def _yaml_entries(directory) -> dict[str, Any]:
    entries: dict[str, Any] = {}
    try:
        children = list(directory.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return entries
    for child in children:
        name = child.name
        if child.is_file() and (name.endswith(".yaml") or name.endswith(".yml")):
            entries.setdefault(name.rsplit(".", 1)[0], child)
    return entries


def list_profiles() -> list[str]:
    """Names (YAML stems) of the bundled profiles, sorted.

    Example::

        >>> from ff_neuro.energy import list_profiles
        >>> list_profiles()
        ['ffgaf-table2', 'lemaire2022-45nm', 'loihi', 'loihi2', 'spinnaker2', 'truenorth']
    """
    return sorted(_yaml_entries(profile_dir()))


def _parse(text: str, origin: str) -> HardwareProfile:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise ProfileError(f"{origin}: invalid YAML: {exc}") from exc
    return HardwareProfile.from_mapping(data, origin)


def load_profile(name_or_path: "PathLike | HardwareProfile") -> HardwareProfile:
    """Load and validate a profile by bundled name (e.g. ``"ffgaf-table2"``) or YAML path.

    A ``HardwareProfile`` is returned unchanged. Strings ending in ``.yaml``/``.yml`` or
    containing a path separator, and ``os.PathLike`` objects, are read as paths.

    Example::

        >>> from ff_neuro.energy import load_profile
        >>> p = load_profile("loihi2")
        >>> p.name, p.model, p.value("neuron_update_pJ")
        ('loihi2', 'per-event', 81.0)
        >>> load_profile("loihi3")
        Traceback (most recent call last):
        ...
        ff_neuro.energy.profiles.ProfileError: unknown profile 'loihi3'; available profiles: [...]
        (or pass a path to a .yaml file)

    A profile of your own is a YAML file in the same schema, e.g. a bundled one edited::

        >>> import yaml
        >>> from pathlib import Path
        >>> d = load_profile("loihi").to_dict()
        >>> d["name"], d["constants"]["synaptic_op_pJ"]["value"] = "my-chip", 10.0
        >>> _ = Path("my-chip.yaml").write_text(yaml.safe_dump(d))
        >>> load_profile("my-chip.yaml").value("synaptic_op_pJ")
        10.0
    """
    if isinstance(name_or_path, HardwareProfile):
        return name_or_path
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(
            f"load_profile expects a profile name, a path or a HardwareProfile, "
            f"got {type(name_or_path).__name__}"
        )
    text_arg = os.fspath(name_or_path)
    is_path = (
        isinstance(name_or_path, os.PathLike)
        or text_arg.endswith((".yaml", ".yml"))
        or os.sep in text_arg
        or (os.altsep is not None and os.altsep in text_arg)
    )
    if is_path:
        path = Path(text_arg)
        if not path.is_file():
            raise ProfileError(f"{path}: profile file not found")
        return _parse(path.read_text(encoding="utf-8"), str(path))
    entries = _yaml_entries(profile_dir())
    if text_arg not in entries:
        raise ProfileError(
            f"unknown profile {text_arg!r}; available profiles: {sorted(entries)} "
            f"(or pass a path to a .yaml file)"
        )
    resource = entries[text_arg]
    return _parse(resource.read_text(encoding="utf-8"), str(resource))
