"""Hardware energy profiles: per-operation constants loaded from cited YAML files.

A profile is a YAML mapping with these top-level keys (anything else is an error)::

    name: ffgaf-table2            # required, non-empty string
    description: ...              # required string
    constants:                    # required mapping: constant name -> entry
      weight_fetch_pJ:
        value: 8.333333333333334  # required number (int or float, finite, >= 0)
        unit: pJ                  # required; "pJ" for energies, "count" for counts
        source: "paper, table/page"   # required, non-empty: where the number comes from
        note: "..."               # optional string
        estimate: true            # optional bool: the number is fitted/estimated, not measured
    formats: {weight_bits: 8}     # optional free mapping of numeric formats
    limits: {cores: 128}          # optional mapping of capacity limits (non-negative numbers)

Known constants (``REQUIRED_CONSTANTS`` must be present, ``OPTIONAL_CONSTANTS`` default as shown):

* ``weight_fetch_pJ``  memory access energy per weight read (ANN) / per synaptic event (SNN).
* ``mac_pJ``           one multiply-accumulate (ANN layers).
* ``acc_pJ``           one accumulate.
* ``acc_per_synaptic_event`` (unit ``count``) accumulates charged per synaptic event.
* ``neuron_update_pJ`` one neuron state update per neuron per time step (default 0).

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
]

#: constant name -> required unit
KNOWN_CONSTANTS: dict[str, str] = {
    "weight_fetch_pJ": "pJ",
    "mac_pJ": "pJ",
    "acc_pJ": "pJ",
    "acc_per_synaptic_event": "count",
    "neuron_update_pJ": "pJ",
}
REQUIRED_CONSTANTS: tuple[str, ...] = (
    "weight_fetch_pJ",
    "mac_pJ",
    "acc_pJ",
    "acc_per_synaptic_event",
)
#: optional constant name -> default value used when the profile omits it
OPTIONAL_CONSTANTS: dict[str, float] = {"neuron_update_pJ": 0.0}

_TOP_LEVEL_REQUIRED = ("name", "description", "constants")
_TOP_LEVEL_OPTIONAL = ("formats", "limits")
_CONSTANT_REQUIRED = ("value", "unit", "source")
_CONSTANT_OPTIONAL = ("note", "estimate")

PathLike = Union[str, "os.PathLike[str]"]


class ProfileError(ValueError):
    """A hardware profile is missing, malformed, or fails validation."""


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
class HardwareProfile:
    """Per-operation energy constants of one target, each with its citation.

    The estimator prices operations as
    ``E_memory = weight_fetches * weight_fetch_pJ`` and
    ``E_compute = MACs * mac_pJ + ACCs * acc_pJ + neuron_updates * neuron_update_pJ``,
    where a spiking layer's ACCs are ``synaptic_events * acc_per_synaptic_event``.
    """

    name: str
    description: str
    constants: dict[str, Constant]
    formats: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, float] = field(default_factory=dict)
    origin: str = field(default="<memory>", compare=False)

    def __post_init__(self) -> None:
        o = self.origin
        if not isinstance(self.name, str) or not self.name.strip():
            raise _err(o, "name", "must be a non-empty string")
        if not isinstance(self.description, str):
            raise _err(o, "description", "must be a string")
        if not isinstance(self.constants, Mapping):
            raise _err(o, "constants", "must be a mapping of constant name -> entry")
        for cname, const in self.constants.items():
            if not isinstance(const, Constant) or const.name != cname:
                raise _err(o, f"constants.{cname}", "must be a Constant named after its key")
        missing = [c for c in REQUIRED_CONSTANTS if c not in self.constants]
        if missing:
            raise _err(
                o,
                f"constants.{missing[0]}",
                f"missing required constant(s) {missing}; required: {list(REQUIRED_CONSTANTS)}",
            )
        if not isinstance(self.formats, Mapping):
            raise _err(o, "formats", "must be a mapping (e.g. weight_bits: 8)")
        for fkey in self.formats:
            if not isinstance(fkey, str):
                raise _err(o, f"formats.{fkey}", "keys must be strings")
        if not isinstance(self.limits, Mapping):
            raise _err(o, "limits", "must be a mapping (e.g. cores: 128)")
        for lkey, lval in self.limits.items():
            if not isinstance(lkey, str):
                raise _err(o, f"limits.{lkey}", "keys must be strings")
            if not _is_number(lval) or not math.isfinite(lval) or lval < 0:
                raise _err(o, f"limits.{lkey}", f"must be a non-negative number, got {lval!r}")

    # -- accessors -------------------------------------------------------------------------
    def value(self, name: str) -> float:
        """Value of constant ``name``; optional constants fall back to their defaults."""
        if name in self.constants:
            return float(self.constants[name].value)
        if name in OPTIONAL_CONSTANTS:
            return float(OPTIONAL_CONSTANTS[name])
        raise KeyError(f"profile {self.name!r} has no constant {name!r}")

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
        formats = data.get("formats")
        limits = data.get("limits")
        return cls(
            name=data["name"],
            description=data["description"],
            constants=constants,
            formats={} if formats is None else formats,
            limits={} if limits is None else limits,
            origin=origin,
        )

    def to_dict(self) -> dict[str, Any]:
        """The profile as a plain mapping in the YAML schema."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "constants": {},
        }
        for cname, c in self.constants.items():
            entry: dict[str, Any] = {"value": c.value, "unit": c.unit, "source": c.source}
            if c.note is not None:
                entry["note"] = c.note
            if c.estimate:
                entry["estimate"] = True
            out["constants"][cname] = entry
        if self.formats:
            out["formats"] = dict(self.formats)
        if self.limits:
            out["limits"] = dict(self.limits)
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
    """Names (YAML stems) of the bundled profiles, sorted."""
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
