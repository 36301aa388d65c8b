"""FFGAF-SNN Table 2 regenerated from the architectures, beside the published values.

Table 2 of FFGAF-SNN (Xu et al.; "theoretical energy ... (Lemaire et al. 2022)") lists, per model,
the parameter count and memory / compute / total energy in mJ. ``ffgaf_table`` recomputes every
number that can be recomputed from the architecture and the ``ffgaf-table2`` profile
(docs/energy.md decodes the table):

* FF* (MLP 3072-3072-3072) and SymBa (MLP 3072 x 4): parameters = weights; memory = one
  ``weight_fetch_pJ`` (25/3 pJ) fetch per weight; compute = one ``mac_pJ`` (3.1 pJ) per weight.
  All three columns reproduce to the printed 3 decimals.
* CaFo: compute = parameters x 32 x 32 x ``mac_pJ`` (every weight charged at all 32 x 32
  positions) = 1.993 mJ. The parameter count (627,768) is the published one (FFGAF gives no
  CaFo architecture); memory and total are not reproducible.
* CSNN-ours: parameters from the FFGAF architecture (3x3 convolutions, channels
  [40, 120, 120, 240], strides [1, 2, 1, 2], weights + biases, 3 input channels) = 433,600;
  memory = parameters x ``sram_read_1MB_pJ`` (100 pJ) = 0.043 mJ. Compute and total depend on
  unpublished spike counts.
* Ghader et al. (SNN 3072-2000-2000) and Ororbias (SNN 3072-3072-3072): parameters from the
  architectures. Their energies depend on unpublished spike counts; with
  ``include_fitted=True`` they are filled in under docs/energy.md's fitted reading (2.018 input
  spikes per input neuron per inference, T = 300), which reproduces the table by construction.
* CwComp*: nothing is reproducible (parameters are shown as published only).

Each row is a dict ``{model, type, parameters, memory_mJ, compute_mJ, total_mJ, published,
basis}``; ``None`` marks a value that is not reproducible. ``published`` holds the paper's
``{parameters, memory_mJ, compute_mJ, total_mJ}``.
"""

from __future__ import annotations

from typing import Any, Sequence

from .estimator import (
    PJ_PER_MJ,
    Conv2dSpec,
    ProfileLike,
    SpikingLayerActivity,
    ann_mlp_energy,
    mlp_parameter_count,
    snn_energy,
)
from .profiles import load_profile

__all__ = [
    "FFGAF_TABLE2",
    "FFGAF_CSNN_CHANNELS",
    "FFGAF_CSNN_STRIDES",
    "ffgaf_csnn_convs",
    "ffgaf_table",
    "format_ffgaf_table",
]

#: FFGAF-SNN Table 2 as printed: model -> (type, parameters, memory, compute, total) in mJ.
FFGAF_TABLE2: dict[str, tuple[str, int, float, float, float]] = {
    "FF*": ("MLP", 18_874_368, 0.157, 0.059, 0.216),
    "SymBa": ("MLP", 28_311_552, 0.236, 0.088, 0.324),
    "Ghader et al.": ("SNN", 10_144_000, 0.171, 0.004, 0.175),
    "Ororbias": ("SNN", 18_874_368, 0.317, 0.008, 0.325),
    "CaFo": ("CNN", 627_768, 0.012, 1.993, 2.005),
    "CwComp*": ("CNN", 588_133, 0.065, 0.390, 0.455),
    "CSNN-ours": ("CSNN", 433_600, 0.043, 0.038, 0.081),
}

#: FFGAF-SNN's CIFAR-10 CSNN (Sec. "Experiments": layers [40, 120, 120, 240], strides [1, 2, 1, 2])
FFGAF_CSNN_CHANNELS: tuple[int, ...] = (40, 120, 120, 240)
FFGAF_CSNN_STRIDES: tuple[int, ...] = (1, 2, 1, 2)

#: docs/energy.md's fitted reading of the SNN rows: input spikes per input neuron per inference
_FITTED_SPIKES_PER_INPUT = 2.018
_FITTED_TIME_STEPS = 300


def ffgaf_csnn_convs(in_channels: int = 3, input_hw: tuple[int, int] = (32, 32),
                     channels: Sequence[int] = FFGAF_CSNN_CHANNELS,
                     strides: Sequence[int] = FFGAF_CSNN_STRIDES,
                     kernel_size: int = 3, padding: int = 1) -> list[Conv2dSpec]:
    """FFGAF's CSNN as :class:`Conv2dSpec` layers (3x3, padding 1, with biases) on 32x32x3.

    The parameter count (433,600 = 1,120 + 43,320 + 129,720 + 259,440) does not depend on the
    padding; the spatial sizes (32, 16, 16, 8) assume padding 1.
    """
    if len(channels) != len(strides):
        raise ValueError(f"channels {list(channels)} and strides {list(strides)} differ in length")
    convs: list[Conv2dSpec] = []
    c_in, hw = in_channels, tuple(input_hw)
    for i, (c_out, stride) in enumerate(zip(channels, strides)):
        spec = Conv2dSpec(f"conv{i + 1}", c_in, c_out, kernel_size, hw, stride=stride,
                          padding=padding, bias=True)
        convs.append(spec)
        c_in, hw = c_out, spec.output_hw
    return convs


def _row(model: str, parameters: int | None, memory_pJ: float | None, compute_pJ: float | None,
         basis: str) -> dict[str, Any]:
    kind, p_params, p_mem, p_comp, p_total = FFGAF_TABLE2[model]
    memory = None if memory_pJ is None else memory_pJ / PJ_PER_MJ
    compute = None if compute_pJ is None else compute_pJ / PJ_PER_MJ
    total = None if memory is None or compute is None else memory + compute
    return {
        "model": model,
        "type": kind,
        "parameters": parameters,
        "memory_mJ": memory,
        "compute_mJ": compute,
        "total_mJ": total,
        "published": {
            "parameters": p_params,
            "memory_mJ": p_mem,
            "compute_mJ": p_comp,
            "total_mJ": p_total,
        },
        "basis": basis,
    }


def ffgaf_table(profile: ProfileLike = "ffgaf-table2", include_fitted: bool = False) -> list[dict[str, Any]]:
    """Rows of FFGAF-SNN Table 2 recomputed from the architectures (see the module docstring).

    ``profile`` must be an ``ffgaf`` profile (``weight_fetch_pJ``, ``mac_pJ``, ``acc_pJ``,
    ``acc_per_synaptic_event`` and ``sram_read_1MB_pJ``). ``include_fitted=True`` fills the two
    FF-trained SNN rows under docs/energy.md's fitted spike-count reading.
    """
    prof = load_profile(profile)
    if prof.model != "ffgaf":
        raise ValueError(f"ffgaf_table needs an 'ffgaf' profile, got {prof.name!r} ({prof.model!r})")
    rows: list[dict[str, Any]] = []

    for model, sizes in (("FF*", [3072, 3072, 3072]), ("SymBa", [3072] * 4)):
        rep = ann_mlp_energy(sizes, prof)
        rows.append(_row(model, rep.parameters, rep.memory_pJ, rep.compute_pJ,
                         f"MLP {'-'.join(map(str, sizes))}: one {prof.weight_fetch_pJ:.4g} pJ fetch "
                         f"and one {prof.mac_pJ:g} pJ multiply per weight"))

    for model, sizes in (("Ghader et al.", [3072, 2000, 2000]), ("Ororbias", [3072, 3072, 3072])):
        params = mlp_parameter_count(sizes)
        if include_fitted:
            acts = [SpikingLayerActivity(f"fc{i + 1}", a, b, _FITTED_TIME_STEPS,
                                         _FITTED_SPIKES_PER_INPUT * a, 0.0)
                    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]
            rep = snn_energy(acts, prof)
            rows.append(_row(model, params, rep.memory_pJ, rep.compute_pJ,
                             f"SNN {'-'.join(map(str, sizes))}; energies under the fitted reading "
                             f"({_FITTED_SPIKES_PER_INPUT} input spikes per input neuron, "
                             "spike counts unpublished)"))
        else:
            rows.append(_row(model, params, None, None,
                             f"SNN {'-'.join(map(str, sizes))}; energies need unpublished spike counts"))

    cafo_params = FFGAF_TABLE2["CaFo"][1]
    rows.append(_row("CaFo", cafo_params, None, cafo_params * 32 * 32 * prof.mac_pJ,
                     f"parameters as published; compute = parameters x 32 x 32 x {prof.mac_pJ:g} pJ; "
                     "memory not reproducible"))
    rows.append(_row("CwComp*", None, None, None, "not reproducible from the paper"))

    convs = ffgaf_csnn_convs()
    params = sum(c.parameters for c in convs)
    rows.append(_row("CSNN-ours", params, params * prof.value("sram_read_1MB_pJ"), None,
                     "3x3 convs [40,120,120,240], strides [1,2,1,2], weights + biases; memory = "
                     f"parameters x {prof.value('sram_read_1MB_pJ'):g} pJ; compute needs "
                     "unpublished spike counts"))
    return rows


def format_ffgaf_table(rows: Sequence[dict[str, Any]], decimals: int = 3) -> str:
    """Text table: each column shows ``ours / paper``; ``-`` where ours is not reproducible.

    Each row's ``basis`` (how ours was obtained) follows the table, one line per row.
    """

    def energy(v: float | None) -> str:
        return "-" if v is None else f"{v:.{decimals}f}"

    def count(v: int | None) -> str:
        return "-" if v is None else f"{v:,}"

    header = ("Model", "Type", "Params (ours / paper)", "Memory mJ (ours / paper)",
              "Compute mJ (ours / paper)", "Total mJ (ours / paper)")
    cells = [header]
    for r in rows:
        pub = r["published"]
        cells.append((
            r["model"],
            r.get("type", ""),
            f"{count(r['parameters'])} / {count(pub['parameters'])}",
            f"{energy(r['memory_mJ'])} / {energy(pub['memory_mJ'])}",
            f"{energy(r['compute_mJ'])} / {energy(pub['compute_mJ'])}",
            f"{energy(r['total_mJ'])} / {energy(pub['total_mJ'])}",
        ))
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]

    def line(c: Sequence[str]) -> str:
        return " | ".join([c[0].ljust(widths[0]), c[1].ljust(widths[1])]
                          + [c[i].rjust(widths[i]) for i in range(2, len(c))])

    out = ["FFGAF-SNN Table 2: recomputed (ours) beside the published values (paper)",
           line(header), "-+-".join("-" * w for w in widths)]
    out += [line(c) for c in cells[1:]]
    out += [f"  {r['model']}: {r['basis']}" for r in rows if r.get("basis")]
    return "\n".join(out)
