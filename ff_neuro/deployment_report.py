"""The deployment report: one self-contained HTML page per model (``ff-neuro report``,
:func:`ff_neuro.api.report`).

The page shows, for a network on its dataset: the network (layers, neurons, synapses, the fit
check on every chip profile), the accuracy on every backend through every readout, the parity
of float / emulator / Lava spike by spike (a raster of one sample, mismatches per layer and
step), the quantization table, the energy per inference on the chosen profiles, an import and
an on-chip learning section when the model carries them, and the commands that reproduce each
figure. Backends that cannot run here are listed with the reason.

The page needs nothing but itself to open: the plots are PNG files (matplotlib) embedded as
base64 ``data:`` URIs, the style sheet is inline and there is no JavaScript beyond one inline
line that records whether every image decoded (``data-images-ok`` on ``<html>``, which the
browser test reads). Text is escaped with the standard library's :mod:`html`.

One function per section (``section_network``, ``section_accuracy``, ...) takes the
:class:`ReportContext` and returns a :class:`Section`; :func:`build_report` runs them in turn
and :func:`render_page` assembles the page. This module imports no Lava: the Lava backends are
reached through :mod:`ff_neuro.run` (a child process) and listed as unavailable when Lava is not
installed.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime
import html
import io
import math
import re
import shlex
import struct
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import checks
from .model.network import Network

#: the page's sections in order: ``(id, title)``; ``import`` and ``onchip`` only appear when
#: the model carries what they show
SECTIONS = (("network", "The network"), ("accuracy", "Accuracy per backend"),
            ("parity", "Parity spike by spike"), ("quantization", "Quantization"),
            ("energy", "Energy per inference"), ("import", "Import"),
            ("onchip", "On-chip learning"), ("commands", "Reproduce"))
TITLES = dict(SECTIONS)
#: sections every report has
REQUIRED_SECTIONS = ("network", "accuracy", "parity", "quantization", "energy", "commands")
DEFAULT_PROFILES = ("loihi", "loihi2", "ffgaf-table2")
DEFAULT_SAMPLES = 200
DEFAULT_LAVA_SAMPLES = 20
#: neurons of one layer drawn in the raster (the first ones)
RASTER_NEURONS = 256
#: what each parity pair measures
PAIR_MEANING = {
    "float_vs_emulator": "quantization error (expected small)",
    "emulator_vs_lava-fixed": "must be identical (bit-exact emulator)",
    "float_vs_lava-fixed": "quantization error (expected small)",
    "float_vs_lava-float": "must be identical (same float model)",
    "lava-float_vs_lava-fixed": "quantization error (expected small)",
}
EXACT_PAIRS = ("emulator_vs_lava-fixed", "float_vs_lava-float")
#: colours of the backends in the figures
COLORS = {"float": "#4c72b0", "emulator": "#55a868", "lava-fixed": "#8172b3",
          "lava-float": "#ccb974", "loihi2": "#64b5cd"}


# -- HTML building blocks ----------------------------------------------------------------------
class Html(str):
    """Markup that is already escaped (everything else is escaped on output); ``+`` escapes
    the plain text it is joined with."""

    def __add__(self, other) -> "Html":
        return Html(str.__add__(self, esc(other)))

    def __radd__(self, other) -> "Html":
        return Html(str.__add__(esc(other), self))


def esc(value) -> Html:
    """``value`` as HTML text: escaped unless it is :class:`Html` already."""
    return value if isinstance(value, Html) else Html(html.escape(str(value)))


def join(parts) -> Html:
    return Html("".join(esc(p) for p in parts))


def tag(name: str, content="", **attrs) -> Html:
    """``<name attrs>content</name>``; ``class_`` gives ``class``; None attributes dropped."""
    a = "".join(f' {k.rstrip("_").replace("_", "-")}="{html.escape(str(v), quote=True)}"'
                for k, v in attrs.items() if v is not None)
    return Html(f"<{name}{a}>{esc(content)}</{name}>")


def code(text: str) -> Html:
    return tag("code", text)


def note(text, kind: str = "info") -> Html:
    """A boxed remark: ``kind`` info, ok, warn or bad."""
    return tag("div", text, class_=f"note {kind}")


def badge(text, kind: str = "info") -> Html:
    return tag("span", text, class_=f"badge {kind}")


def table(head: Sequence, rows: Sequence[Sequence], numeric: Sequence[int] = (),
          caption=None, foot: Optional[Sequence] = None, cls: str = "",
          text: Sequence[int] = ()) -> Html:
    """A table in a horizontally scrolling box; columns ``numeric`` right-aligned, columns
    ``text`` (long prose) wrapped; other cells stay on one line."""
    num, txt = set(numeric), set(text)

    def cells(row, t):
        return join(tag(t, c, class_="num" if i in num else "text" if i in txt else None)
                    for i, c in enumerate(row))

    parts = [tag("caption", caption)] if caption is not None else []
    parts.append(tag("thead", tag("tr", cells(head, "th"))))
    parts.append(tag("tbody", join(tag("tr", cells(r, "td")) for r in rows)))
    if foot is not None:
        parts.append(tag("tfoot", tag("tr", cells(foot, "td"))))
    return tag("div", tag("table", join(parts), class_=cls or None), class_="scroll")


def dl(items: Sequence[Tuple[str, object]]) -> Html:
    """A definition list of ``(term, description)``."""
    return tag("dl", join(join((tag("dt", k), tag("dd", v))) for k, v in items), class_="facts")


def pre(text: str) -> Html:
    return tag("div", tag("pre", code(text)), class_="scroll")


def _png_size(png: bytes) -> Tuple[int, int]:
    return struct.unpack(">II", png[16:24])


def image(png: bytes, caption, alt: str, dpi: int) -> Html:
    """A PNG as an embedded ``<figure>``, shown at its size in CSS pixels (96 per inch)."""
    w, _ = _png_size(png)
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    img = Html(f'<img src="{src}" alt="{html.escape(alt, quote=True)}" '
               f'style="width:{round(w * 96 / dpi)}px">')
    return tag("figure", join((img, tag("figcaption", caption))))


FIG_DPI = 144
#: an embedded plot as :func:`image` writes it: its PNG (base64) and alt text
_IMAGE_RE = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)"')


def figure(fig, caption, alt: str) -> Html:
    """A matplotlib figure as an embedded ``<figure>`` (the figure is closed)."""
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIG_DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return image(buf.getvalue(), caption, alt, FIG_DPI)


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9,
                         "axes.spines.top": False, "axes.spines.right": False})
    return plt


# -- numbers -----------------------------------------------------------------------------------
def fmt_int(v) -> str:
    return f"{int(v):,}"


def fmt_shape(shape) -> str:
    return "x".join(str(int(s)) for s in shape)


ENERGY_UNITS = (("mJ", 1e9), ("µJ", 1e6), ("nJ", 1e3), ("pJ", 1.0))


def energy_unit(pj: float) -> Tuple[str, float]:
    """The unit that shows ``pj`` picojoules with 1 to 3 digits before the point."""
    for name, scale in ENERGY_UNITS:
        if abs(pj) >= scale:
            return name, scale
    return "pJ", 1.0


def fmt_energy(pj: float) -> str:
    if pj == 0:
        return "0"
    unit, scale = energy_unit(pj)
    v = pj / scale
    return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"


def _param_text(v, digits: int = 4) -> str:
    """A neuron parameter: a number, or a per-neuron array as its range."""
    a = np.asarray(v)
    if a.ndim == 0:
        x = a.item()
        return f"{x:.{digits}g}" if isinstance(x, float) else str(x)
    lo, hi = a.min().item(), a.max().item()
    if lo == hi:
        return _param_text(lo, digits) + " (per neuron)"
    return f"{_param_text(lo, digits)} .. {_param_text(hi, digits)} (per neuron)"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# -- what the report works on ------------------------------------------------------------------
@dataclass
class Section:
    """One part of the page: its ``id`` (the HTML anchor), ``title``, ``body`` (HTML) and a
    ``summary`` of its numbers (JSON-serialisable, the ``--json`` output)."""

    id: str
    title: str
    body: Html
    summary: dict = field(default_factory=dict)


@dataclass
class ReportContext:
    """Everything the section functions share: the deployed network, the samples, the
    options, and what one section measured that another shows."""

    net: Network                       # the network the page describes (quantized if possible)
    source: Network                    # as given
    x: np.ndarray                      # test samples (``samples`` of them)
    y: np.ndarray
    dataset_name: str
    dataset: object = None             # the Dataset (None for an (x, y) pair)
    lava_samples: int = DEFAULT_LAVA_SAMPLES
    backends: Tuple[str, ...] = ()
    availability: Dict[str, Tuple[bool, str]] = field(default_factory=dict)
    profiles: Tuple[str, ...] = DEFAULT_PROFILES
    timeout_s: float = 600.0
    log: Callable[[str], None] = lambda msg: None
    model_path: Optional[str] = None
    cli_data: Tuple[str, ...] = ()     # --dataset / --data-dir of the commands
    learning: Optional[dict] = None
    learning_path: Optional[str] = None    # the file it was read from
    # filled in on the way
    quantized_here: bool = False       # the report quantized a float-only model
    quant_report: object = None
    quant_error: Optional[str] = None
    quant_warnings: List[str] = field(default_factory=list)
    quant_matches_model: Optional[bool] = None
    parity: object = None              # ParityReport
    parity_results: dict = field(default_factory=dict)
    parity_samples: int = 0
    commands: List[Tuple[str, str]] = field(default_factory=list)
    evaluations: dict = field(default_factory=dict)   # (backend, readout) -> EvaluationReport

    @property
    def model_arg(self) -> str:
        return self.model_path or "MODEL.h5"

    @property
    def fixed_model_arg(self) -> str:
        """The model file the fixed-point commands read (the quantized one)."""
        if not self.quantized_here:
            return self.model_arg
        p = self.model_arg
        return (p[:-3] if p.endswith(".h5") else p) + ".q.h5"

    def runs_on(self, name: str) -> bool:
        return name in self.backends and self.availability[name][0]


def _data_args(ctx: ReportContext) -> str:
    return "".join(" " + shlex.quote(a) for a in ctx.cli_data)


# -- sections ----------------------------------------------------------------------------------
def _neuron_cells(layer, qlayer) -> list:
    """Neuron, threshold, membrane decay, current memory, reset of a layer: the float value,
    then (``->``) the Loihi integer of the quantized twin."""
    n = layer.neuron
    q = None if qlayer is None else qlayer.neuron
    arrow = " \u2192 "
    kind = "LIF" + ("" if q is None else arrow + "LoihiLIF")
    if n.per_neuron:
        kind += ", per-neuron parameters"
    th = _param_text(n.threshold) + ("" if q is None else f"{arrow}vth {_param_text(q.vth)}")
    dv = f"beta {_param_text(1.0 - np.asarray(n.v_decay))}" + (
        "" if q is None else f"{arrow}dv {_param_text(q.v_decay)}")
    if n.current_memory:
        cur = f"alpha {_param_text(1.0 - np.asarray(n.i_decay))}" + (
            "" if q is None else f"{arrow}du {_param_text(q.i_decay)}")
    else:
        cur = "none"
    reset = n.reset + (", delayed" if n.reset_delay else "")
    if n.bias_in != "membrane":
        reset += f"; bias in the {n.bias_in}"
    return [kind, th, dv, cur, reset]


def _synapse_text(layer, qlayer) -> str:
    from .model.synapse import Conv2d
    syn = layer.synapse
    if isinstance(syn, Conv2d):
        kh, kw = syn.kernel
        text = f"conv {kh}x{kw}/{syn.stride}, pad {syn.padding}"
    else:
        text = "dense"
    exp = getattr((qlayer or layer).synapse, "weight_exp", 0)
    if exp:
        text += f", weight_exp {exp}"
    if layer.recurrent is not None:
        text += f" + recurrent {layer.n_out}x{layer.n_out}"
    if syn.bias is not None:
        text += " + bias"
    return text


def _layer_rows(net: Network) -> Tuple[list, list]:
    rows = []
    tot_syn = tot_par = tot_n = 0
    qs = net.quantized or [None] * len(net.layers)
    for k, (layer, q) in enumerate(zip(net.layers, qs)):
        syn = layer.synapse
        synapses = syn.synapse_count()
        params = syn.parameters()
        if layer.recurrent is not None:
            synapses += layer.recurrent.synapse_count()
            params += layer.recurrent.parameters()
        tot_syn += synapses
        tot_par += params
        tot_n += layer.n_out
        rows.append([str(k), _synapse_text(layer, q),
                     f"{fmt_shape(layer.in_shape)} \u2192 {fmt_shape(layer.out_shape)}",
                     fmt_int(layer.n_out), fmt_int(synapses), fmt_int(params)]
                    + _neuron_cells(layer, q))
    foot = ["total", "", "", fmt_int(tot_n), fmt_int(tot_syn), fmt_int(tot_par), "", "", "",
            "", ""]
    return rows, foot


def _readout_text(r) -> str:
    d = {"sweep": "label sweep: one run per candidate label, argmax of goodness",
         "class-groups": "class groups: the class whose channels fire most",
         "linear": "linear readout of the spike rates (host)",
         "spike-count": "the output neuron that spikes most",
         "membrane": "the membrane of a non-spiking output layer"}
    return d.get(r.kind, r.kind)


def section_network(ctx: ReportContext) -> Section:
    """Layers (kind, shapes, neurons, neuron type, reset, current memory, recurrence), synapse
    counts, and the fit check on every chip profile (cores, synaptic memory)."""
    from .energy import fit_check, list_profiles, load_profile
    net = ctx.net
    enc = net.encoder
    enc_text = getattr(enc, "kind", type(enc).__name__)
    enc_text = f"{enc_text}, T = {net.time_steps} steps"
    if getattr(enc, "kind", "") == "rate":
        enc_text += f", gain {enc.gain:g}"
    elif hasattr(enc, "levels"):
        enc_text += f", {enc.levels} levels"
    emb = net.label_embedding
    training = net.training or {}
    origin = (f"imported from {training['imported_from']}" if training.get("imported_from")
              else f"trained with {training['algorithm']}" if training.get("algorithm")
              else "not recorded")
    if ctx.quantized_here:
        qtext = Html(esc("float only in the file; quantized by this report (default settings, "
                         "calibrated on the training split): ") + code(
            f"ff-neuro quantize {ctx.model_arg} --out {ctx.fixed_model_arg}"))
    elif net.quantized is not None:
        qtext = "float layers and their Loihi fixed-point twins"
    else:
        qtext = Html(esc("float only; it could not be quantized: ") + esc(ctx.quant_error))
    facts = [("model", ctx.model_arg), ("dataset", f"{ctx.dataset_name}: {net.n_features} "
                                                   f"values per sample, {net.n_classes} classes"),
             ("input encoding", enc_text),
             ("label embedding", "none" if emb is None else
              f"{emb.kind}, {getattr(emb, 'width', '?')} inputs"),
             ("readouts", join(join((code(r.kind), " (default)" if i == 0 else "", ": ",
                                     _readout_text(r), Html("<br>")
                                     if i < len(net.readouts) - 1 else ""))
                               for i, r in enumerate(net.readouts))),
             ("runs per inference", str(net.runs_per_inference())),
             ("origin", origin), ("fixed point", qtext)]
    hist = training.get("history")
    if isinstance(hist, dict) and hist.get("seconds"):
        facts.append(("training time", f"{hist['seconds']:.1f} s"))
    rows, foot = _layer_rows(net)
    layers = table(["layer", "synapse", "shape", "neurons", "synapses", "parameters",
                    "neuron", "threshold", "membrane", "current memory", "reset"], rows,
                   numeric=(0, 3, 4, 5), foot=foot, cls="wide")
    # the fit check on every profile that states chip limits
    fit_rows, no_limits, fits = [], [], {}
    for p in list_profiles():
        prof = load_profile(p)
        try:
            fr = fit_check(net, prof)
        except ValueError:
            no_limits.append(p)
            continue
        bits = prof.format_bits("weight_bits")
        mem = "-" if bits is None else \
            f"{fr.total_synapses * int(bits) / 8 / 1024:,.1f} KiB ({int(bits)}-bit weights)"
        limit = {"neurons_per_core": "neuron limit", "synapses_per_core": "synapse limit",
                 "axons_per_core": "axon limit"}
        per_layer = join(join((f"{l.name}: {'-' if l.cores is None else l.cores} \u00d7 "
                               f"{l.neurons_per_core:,} neurons "
                               f"({limit.get(l.limited_by, l.limited_by)})",
                               Html("<br>") if i < len(fr.layers) - 1 else ""))
                         for i, l in enumerate(fr.layers))
        verdict = (badge("fits", "ok") if fr.fits_on_one_chip else
                   badge("does not fit", "bad"))
        chips = "-" if fr.chips_needed is None else str(fr.chips_needed)
        cores = "-" if fr.total_cores is None else f"{fr.total_cores:,} of {fr.cores_per_chip:,}"
        cap = f"{fr.neuron_capacity_per_core:,} neurons" + (
            "" if fr.synapse_capacity_per_core is None else
            f", {fr.synapse_capacity_per_core:,} synapses ({fr.synapse_capacity_basis})")
        problems = "; ".join(fr.problems) or "-"
        fit_rows.append([p, verdict, chips, cores, mem, cap, per_layer, problems])
        fits[p] = {"fits_on_one_chip": fr.fits_on_one_chip, "cores": fr.total_cores,
                   "chips": fr.chips_needed}
    parts = [dl(facts), tag("h3", "Layers"), layers,
             tag("p", "Synapses count every stored weight (a conv layer expanded without weight "
                      "sharing, a recurrent layer's own n x n matrix included). 'a \u2192 b': "
                      "the float neuron's value and its Loihi integer (thresholds in integer "
                      "units, decays in 1/4096); beta and alpha are snnTorch's decay factors.",
                 class_="muted"),
             tag("h3", "Fit on the chip profiles"),
             table(["profile", "verdict", "chips", "cores", "synaptic memory",
                    "per core", "cores per layer", "problems"], fit_rows, numeric=(2,),
                   cls="wide", text=(5, 7) if any(r[-1] != "-" for r in fit_rows) else (5,))]
    expl = ("Each layer gets its own cores: 'cores x neurons' placed per core, and the limit "
            "that sets that number; synapses stored dense at the profile's weight bits "
            "(optimistic: no index overhead).")
    if no_limits:
        expl += (" Energy-only profiles (no chip limits stated, no fit check): "
                 + ", ".join(no_limits) + ".")
    parts.append(tag("p", expl, class_="muted"))
    summary = {"layers": [{"kind": l.kind, "in": list(l.in_shape), "out": list(l.out_shape),
                           "neurons": l.n_out, "reset": l.neuron.reset,
                           "reset_delay": l.neuron.reset_delay,
                           "current_memory": l.neuron.current_memory,
                           "recurrent": l.recurrent is not None} for l in net.layers],
               "synapses": int(sum(l.synapse.synapse_count() + (
                   0 if l.recurrent is None else l.recurrent.synapse_count())
                   for l in net.layers)),
               "fit": fits}
    return Section("network", TITLES["network"], join(parts), summary)


def section_accuracy(ctx: ReportContext) -> Section:
    """Accuracy per backend and readout (``ffn.evaluate``); Lava backends on the first
    ``lava_samples`` samples; backends that cannot run here listed with the reason."""
    from . import api
    from .run import BACKENDS, backend_class
    net = ctx.net
    default = net.readout.kind
    rows, acc, failed = [], {}, {}
    order = list(ctx.backends) + [b for b in BACKENDS if b not in ctx.backends]
    for name in order:
        ok, why = ctx.availability[name]
        if name not in ctx.backends:
            rows.append([name, "-", "-", "-", "-", badge("not requested", "info") + " " + (
                "(available here)" if ok else why)])
            continue
        if not ok:
            rows.append([name, "-", "-", "-", "-", badge("not available here", "bad") + " "
                         + why])
            continue
        slow = backend_class(name).supervised
        n = ctx.lava_samples if slow else len(ctx.y)
        for r in net.readouts:
            res = ctx.parity_results.get(name)
            if res is not None and r.kind == default and ctx.parity_samples == n:
                a = res.accuracy(ctx.y[:n])
                secs = ctx.parity.seconds.get(name)
                how = "from the parity run (same samples)"
            else:
                ctx.log(f"accuracy: {name}, {r.kind} readout, {n} samples")
                try:
                    ev = api.evaluate(net, (ctx.x[:n], ctx.y[:n]), backend=name,
                                      readout=r.kind, timeout_s=ctx.timeout_s)
                except Exception as exc:           # a failed run is shown, the page goes on
                    if not _expected(exc):
                        raise
                    failed[f"{name}/{r.kind}"] = _one_line(exc)
                    rows.append([name, r.kind, str(n), "-", "-",
                                 badge("failed", "bad") + " " + _one_line(exc)])
                    continue
                ctx.evaluations[(name, r.kind)] = ev
                a, secs, how = ev.accuracy, ev.seconds, ""
            acc.setdefault(name, {})[r.kind] = {"accuracy": a, "samples": n}
            rows.append([name, r.kind + (" (default)" if r.kind == default else ""), str(n),
                         f"{100 * a:.2f} %", "-" if secs is None else f"{secs:.1f}", how])
    parts = [table(["backend", "readout", "samples", "accuracy", "seconds", "note"], rows,
                   numeric=(2, 3, 4), text=(5,)),
             tag("p", f"float and emulator on the first {len(ctx.y)} test samples of "
                      f"{ctx.dataset_name}; Lava (about 1-2 ms per step and sample, plus a "
                      f"compile) on the first {ctx.lava_samples}. The same samples on every "
                      "backend: see the parity section.", class_="muted")]
    conf = _confusion_figure(ctx)
    if conf is not None:
        parts.append(conf)
    unavailable = {b: ctx.availability[b][1] for b in ctx.backends
                   if not ctx.availability[b][0]}
    return Section("accuracy", TITLES["accuracy"], join(parts),
                   {"accuracy": acc, "unavailable": unavailable, "failed": failed})


def _confusion_figure(ctx: ReportContext) -> Optional[Html]:
    """The confusion matrix of the deployed network (emulator, else float), default readout."""
    from . import api
    name = "emulator" if ctx.runs_on("emulator") and ctx.net.quantized is not None else "float"
    if not ctx.availability.get(name, (False,))[0]:
        return None
    ev = ctx.evaluations.get((name, ctx.net.readout.kind))
    if ev is None:
        ev = api.evaluate(ctx.net, (ctx.x, ctx.y), backend=name)
    m = ev.confusion()
    plt = _pyplot()
    size = min(5.0, 2.2 + 0.28 * m.shape[0])
    fig, ax = plt.subplots(figsize=(size + 0.8, size))
    im = ax.imshow(m, cmap="Blues")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if m.shape[0] <= 12:
        ax.set_xticks(range(m.shape[0]))
        ax.set_yticks(range(m.shape[0]))
        for (i, j), v in np.ndenumerate(m):
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                        color="white" if v > m.max() / 2 else "black")
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title(f"{name}, {ev.readout} readout: {100 * ev.accuracy:.2f} % on {ev.samples}")
    return figure(fig, f"Confusion matrix on {name} ({ev.readout} readout, {ev.samples} test "
                       "samples): rows true class, columns predicted.", "confusion matrix")


def _expected(exc: BaseException) -> bool:
    """Errors a backend run ends with for a reason a user can act on (shown on the page)."""
    from .run import BackendUnavailable
    from .run.lava import LavaRunError
    return isinstance(exc, (ValueError, LavaRunError, BackendUnavailable, MemoryError))


def run_parity_runs(ctx: ReportContext) -> None:
    """Run the parity backends on the first ``lava_samples`` samples with the same inputs,
    keeping every spike (the raster needs them): ``ctx.parity`` (a
    :class:`~ff_neuro.parity.ParityReport`) and ``ctx.parity_results``; a backend whose run
    fails is listed with the reason."""
    from .parity import BACKENDS as PARITY_BACKENDS, PAIRS, run_parity
    names = [b for b in PARITY_BACKENDS if ctx.runs_on(b)]
    if not any(a in names and b in names for a, b in PAIRS):
        return
    n = ctx.lava_samples

    def skip(name, exc) -> bool:
        if not _expected(exc):
            return False
        ctx.availability[name] = (False, f"the run failed: {_one_line(exc)}")
        return True

    ctx.parity = run_parity(ctx.net, ctx.x[:n], ctx.y[:n], names, timeout_s=ctx.timeout_s,
                            log=lambda m: ctx.log(f"parity: {m}"),
                            results=ctx.parity_results, skip_failed=skip)
    ctx.parity_samples = n


def _raster_figure(ctx: ReportContext) -> Html:
    """One sample's spikes, layers stacked (one row per neuron, one column per step), one panel
    per backend; spikes that differ from the reference backend (the emulator, else float)
    marked in red (a spike only on this backend) and orange (only on the reference)."""
    plt = _pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    res = ctx.parity_results
    names = list(res)
    ref = "emulator" if "emulator" in res else names[0]
    rps = res[ref].runs_per_sample
    label = int(ctx.y[0]) if rps > 1 else None
    run = label if rps > 1 else 0
    layers = ctx.net.layers
    shown = [min(l.n_out, RASTER_NEURONS) for l in layers]
    offsets = np.concatenate([[0], np.cumsum(shown)]).astype(int)
    total = int(offsets[-1])
    T = res[ref].spikes[0].shape[0]

    def spikes(name):
        return np.concatenate([res[name].spikes[k][:, run].reshape(T, -1)[:, :shown[k]].T
                               for k in range(len(layers))]).astype(bool)   # (neurons, T)

    cols = len(names)
    height = min(8.0, max(3.0, 1.4 + total / 80))
    width = min(12.5, cols * min(3.6, max(2.4, 1.0 + 0.09 * T)) + 1.0)
    fig, axes = plt.subplots(1, cols, figsize=(width, height), sharey=True, squeeze=False)
    r = spikes(ref)
    for ax, name in zip(axes[0], names):
        s = spikes(name)
        img = s.astype(np.int8)
        img[s & ~r] = 2
        img[r & ~s] = 3
        cmap = ListedColormap(["#ffffff", COLORS.get(name, "#333333"), "#d62728", "#ff9f1c"])
        ax.imshow(img, aspect="auto", interpolation="nearest", cmap=cmap, vmin=0, vmax=3,
                  extent=(-0.5, T - 0.5, total - 0.5, -0.5))
        for k in range(1, len(layers)):
            ax.axhline(offsets[k] - 0.5, color="black", lw=1.4)
        extra, missing = int((s & ~r).sum()), int((r & ~s).sum())
        ax.set_title(name + (" (reference)" if name == ref else
                             f"\n{extra} extra, {missing} missing" if extra + missing else
                             "\nidentical"), fontsize=9)
        ax.set_xlabel("time step")
        ax.tick_params(axis="y", length=0)
    axes[0][0].set_yticks([(offsets[k] + offsets[k + 1] - 1) / 2 for k in range(len(layers))])
    axes[0][0].set_yticklabels([f"layer {k}" + (f"\n(first {shown[k]})"
                                                if shown[k] < layers[k].n_out else "")
                                for k in range(len(layers))])
    handles = [Patch(color="#d62728", label="spike only on this backend"),
               Patch(color="#ff9f1c", label=f"spike only on {ref}")]
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    which = f", candidate label {label} (its true label)" if label is not None else ""
    return figure(fig, f"Spikes of test sample 0{which} on every backend: one row per neuron, "
                       f"layers stacked, one column per time step; red and orange mark where a "
                       f"backend differs from {ref}.", "spike raster of one sample")


def _mismatch_groups(pairs: dict) -> List[Tuple[List[str], np.ndarray]]:
    """The pairs with mismatching spikes, those with equal matrices grouped (Lava float
    against Lava fixed_pt repeats float against the emulator when both Lava runs are exact)."""
    groups: List[Tuple[List[str], np.ndarray]] = []
    for name, p in pairs.items():
        if not p.mismatches.sum():
            continue
        for names, m in groups:
            if np.array_equal(m, p.mismatches):
                names.append(name)
                break
        else:
            groups.append(([name], p.mismatches))
    return groups


def _mismatch_figure(ctx: ReportContext, groups) -> Html:
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator
    cols = min(3, len(groups))
    rows = math.ceil(len(groups) / cols)
    L, T = groups[0][1].shape
    fig, axes = plt.subplots(rows, cols, figsize=(4.3 * cols, (1.2 + 0.35 * L) * rows + 0.3),
                             squeeze=False)
    for ax in axes.flat[len(groups):]:
        ax.axis("off")
    for ax, (names, m) in zip(axes.flat, groups):
        im = ax.imshow(m, aspect="auto", cmap="magma_r", vmin=0, vmax=max(1, int(m.max())),
                       interpolation="nearest")
        ax.set_title("\n".join(names) + f"\n{int(m.sum()):,} mismatching spikes", fontsize=8)
        ax.set_xlabel("time step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_yticks(range(L))
        ax.set_yticklabels([f"layer {k}" for k in range(L)], fontsize=7)
        fig.colorbar(im, ax=ax, shrink=0.9)
    fig.tight_layout()
    return figure(fig, f"Mismatching spike bits per layer (rows) and time step (columns), summed "
                       f"over the {ctx.parity_samples} samples and their runs; pairs with the "
                       "same mismatches share a panel, identical pairs have none.",
                  "mismatches per layer and step")


def section_parity(ctx: ReportContext) -> Section:
    """Float / emulator / Lava spike by spike: backends, pairs, a raster of one sample and the
    mismatches per layer and step (table and heat map)."""
    rep = ctx.parity
    if rep is None or not rep.pairs:
        ran = [b for b in ("float", "emulator", "lava-fixed", "lava-float") if ctx.runs_on(b)]
        body = note("Parity compares two backends of a pair (float-emulator, emulator-Lava "
                    f"fixed_pt, float-Lava floating_pt); the backends that ran here "
                    f"({', '.join(ran) or 'none'}) form none.", "warn")
        return Section("parity", TITLES["parity"], body, {"pairs": {}})
    runs = (f" x {ctx.net.n_classes} candidate labels" if rep.readout == "sweep" else "")
    b_rows = [[name, f"{100 * rep.accuracy[name]:.2f} %", f"{rep.seconds[name]:.1f}",
               f"{rep.lava_ms_per_step[name]:.2f}" if name in rep.lava_ms_per_step else "-"]
              for name in rep.accuracy]
    p_rows, pairs = [], {}
    for name, p in rep.pairs.items():
        fd = p.first_divergence
        where = "none" if fd is None else (
            f"step {fd['step']}, layer {fd['layer']}, sample {fd['sample']}"
            + (f", label {fd['label']}" if "label" in fd else "") + f", neuron {fd['neuron']}")
        total = int(p.mismatches.sum())
        if name in EXACT_PAIRS:
            verdict = badge("identical", "ok") if total == 0 else badge("differs", "bad")
        else:
            verdict = badge("identical", "ok") if total == 0 else badge("close", "info") \
                if p.spike_agreement > 0.99 else badge("differs", "warn")
        p_rows.append([name, PAIR_MEANING.get(name, ""), verdict, f"{p.spike_agreement:.6f}",
                       f"{100 * p.prediction_agreement:.1f} %", fmt_int(total), where])
        pairs[name] = {"spike_agreement": p.spike_agreement,
                       "prediction_agreement": p.prediction_agreement,
                       "total_mismatches": total}
    parts = [tag("p", f"The first {rep.samples} test samples{runs}, the same input spikes on "
                      f"every backend, {rep.readout} readout; every spike of every layer and "
                      "step compared.", class_="muted"),
             table(["backend", "accuracy", "seconds", "Lava ms per step"], b_rows,
                   numeric=(1, 2, 3)),
             table(["pair", "what it measures", "verdict", "spike agreement",
                    "prediction agreement", "mismatching spikes", "first divergence"], p_rows,
                   numeric=(3, 4, 5), cls="wide", text=(1, 6)),
             _raster_figure(ctx)]
    groups = _mismatch_groups(rep.pairs)
    if groups:
        parts.append(_mismatch_figure(ctx, groups))
        for names, m in groups:
            T = m.shape[1]
            parts.append(table(["layer"] + [str(t) for t in range(T)] + ["total"],
                               [[str(k)] + [str(int(v)) for v in row] + [fmt_int(row.sum())]
                                for k, row in enumerate(m)],
                               numeric=range(1, T + 2),
                               caption=f"{', '.join(names)}: mismatching spikes per layer "
                                       "and time step", cls="compact"))
    else:
        parts.append(note("Every pair agrees on every spike.", "ok"))
    missing = [b for b in ("lava-fixed", "lava-float") if b in ctx.backends and
               not ctx.availability[b][0]]
    if missing:
        parts.append(note(f"Not compared here: {', '.join(missing)} (not available here: see "
                          "the accuracy section for the reason).", "warn"))
    return Section("parity", TITLES["parity"], join(parts),
                   {"samples": rep.samples, "readout": rep.readout, "accuracy": rep.accuracy,
                    "pairs": pairs})


def prepare_quantization(ctx: ReportContext) -> None:
    """Quantize the float layers with calibration inputs of the training data (the model file
    keeps no quantization report): ``ctx.quant_report``; a float-only model becomes the
    quantized network the page describes."""
    from .config import QuantConfig
    from .encoding import network_inputs
    from .pipeline import CALIBRATION_SEED_OFFSET, calibration_inputs
    from .quantization import quantize
    src = ctx.source
    float_net = dataclasses.replace(src, quantized=None)
    cfg = QuantConfig()
    ctx.log("quantization: quantizing the float layers with calibration data")
    try:
        if ctx.dataset is not None:
            calib = calibration_inputs(float_net, ctx.dataset, cfg.calibration_samples)
        else:
            n = min(cfg.calibration_samples, len(ctx.y))
            labels = ctx.y[:n] if float_net.label_embedding is not None else None
            calib = network_inputs(float_net, ctx.x[:n], labels=labels,
                                   seed_offset=CALIBRATION_SEED_OFFSET)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            qnet, rep = quantize(float_net, cfg, calib)
        ctx.quant_warnings = [str(w.message) for w in caught]
    except ValueError as exc:                       # QuantizationError among them
        ctx.quant_error = _one_line(exc)
        return
    ctx.quant_report = rep
    if src.quantized is None:
        ctx.net, ctx.quantized_here = qnet, True
    else:
        ctx.quant_matches_model = _same_integers(src.quantized, qnet.quantized)


def _same_integers(a: list, b: list) -> bool:
    for p, q in zip(a, b):
        if not (np.array_equal(p.weight, q.weight) and p.neuron == q.neuron and
                (p.bias is None) == (q.bias is None) and
                (p.bias is None or np.array_equal(p.bias, q.bias))):
            return False
        if (p.recurrent is None) != (q.recurrent is None) or (
                p.recurrent is not None and
                not np.array_equal(p.recurrent.weight, q.recurrent.weight)):
            return False
    return True


def _quant_figure(ctx: ReportContext) -> Html:
    """Firing rates float vs fixed point per layer, and the integer weights' histogram."""
    plt = _pyplot()
    rep = ctx.quant_report
    layers = rep.layers
    x = np.arange(len(layers))
    fig, (a, b) = plt.subplots(1, 2, figsize=(9.0, 3.2), gridspec_kw={"width_ratios": [1, 1.4]})
    rf = [np.nan if l.rate_float is None else l.rate_float for l in layers]
    rq = [np.nan if l.rate_fixed is None else l.rate_fixed for l in layers]
    a.bar(x - 0.2, rf, 0.4, label="float", color=COLORS["float"])
    a.bar(x + 0.2, rq, 0.4, label="fixed point", color=COLORS["emulator"])
    a.set_xticks(x)
    a.set_xticklabels([f"layer {l.layer}" for l in layers])
    a.set_ylabel("spikes per neuron and step")
    a.set_title("firing rates on the calibration inputs")
    a.set_ylim(0, 1.3 * max([v for v in rf + rq if np.isfinite(v)] or [1.0]))
    a.legend(frameon=False, fontsize=8, ncol=2, loc="upper left")
    qlayers = ctx.net.quantized or []
    bins = np.arange(-256, 256, 8)
    for k, q in enumerate(qlayers):
        w = np.asarray(q.weight).ravel()
        b.hist(w, bins=bins, histtype="step", lw=1.3, label=f"layer {k}")
    b.axvline(-256, color="#999", ls="--", lw=0.8)
    b.axvline(254, color="#999", ls="--", lw=0.8)
    b.set_yscale("log")
    b.set_xlabel("integer weight (Loihi 8-bit mantissa and sign)")
    b.set_ylabel("weights")
    clipped = ", ".join(f"{100 * l.clipped_fraction:.2f} %" for l in layers)
    b.set_title(f"integer weights (clipped: {clipped})")
    if len(qlayers) <= 8:
        b.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return figure(fig, "Left: firing rate per layer in float and in fixed point on the "
                       "calibration inputs (a silent or saturated layer shows here first). "
                       "Right: the deployed integer weights per layer (log scale); the dashed "
                       "lines are the weight range's ends.", "quantization: rates and weights")


def section_quantization(ctx: ReportContext) -> Section:
    """The quantization table (scales, thresholds, bits, clipping, firing rates float vs fixed)
    and its plot (:meth:`~ff_neuro.quantization.QuantReport.plot`)."""
    rep = ctx.quant_report
    if rep is None:
        body = note(f"The float layers cannot be quantized to Loihi fixed point: "
                    f"{ctx.quant_error}", "bad")
        return Section("quantization", TITLES["quantization"], body, {"error": ctx.quant_error})
    if ctx.quantized_here:
        where = ("The model file holds float layers only: the report quantized them (default "
                 "settings, calibration inputs from the training split) and every fixed-point "
                 "figure on this page runs those integers.")
        kind = "info"
    elif ctx.quant_matches_model:
        where = ("The model file keeps no quantization report: quantization was re-run on its "
                 "float layers with calibration inputs from the training split, and gives "
                 "exactly the model's Loihi integers.")
        kind = "ok"
    else:
        where = ("The model file keeps no quantization report: quantization was re-run on its "
                 "float layers with the default settings and calibration inputs; its integers "
                 "differ from the model's Loihi layers (quantized with other settings, or "
                 "imported), so the table describes that fresh quantization, while the other "
                 "sections run the model's own integers.")
        kind = "warn"
    rows = []
    for l in rep.layers:
        status = (badge("silent", "bad") if l.silent else badge("saturated", "bad")
                  if l.saturated else badge("ok", "ok"))
        rows.append([str(l.layer), l.kind, f"{l.scale:.3f}", str(l.vth), str(l.v_decay),
                     f"[{l.weight_min}, {l.weight_max}]", str(l.bits_used),
                     f"{100 * l.clipped_fraction:.2f} %", f"{l.weight_rmse:.2e}",
                     f"{100 * l.vth_error:+.2f} %",
                     "-" if l.rate_float is None else f"{l.rate_float:.4f}",
                     "-" if l.rate_fixed is None else f"{l.rate_fixed:.4f}", status])
    parts = [note(where, kind),
             table(["layer", "kind", "scale", "vth", "dv", "weight range", "bits", "clipped",
                    "weight RMSE", "threshold error", "rate float", "rate fixed", "status"],
                   rows, numeric=(0, 2, 3, 4, 6, 7, 8, 9, 10, 11), cls="wide"),
             tag("p", "scale: integer units per float unit; bits: signed bits the integer "
                      "weights use (Loihi: 8-bit mantissa and sign); clipped: weights beyond "
                      "[-256, 254]; weight RMSE in units of the weight applied to one input "
                      "message; rates: spikes per neuron and step on the calibration inputs.",
                 class_="muted"),
             _quant_figure(ctx)]
    for w in ctx.quant_warnings:
        parts.append(note(w, "warn"))
    return Section("quantization", TITLES["quantization"], join(parts),
                   {**rep.to_dict(), "matches_model": ctx.quant_matches_model,
                    "quantized_by_report": ctx.quantized_here})


def _static_pj(rep) -> float:
    """The static energy per inference of a report (pJ): the chip's static power over the
    inference's steps, 0 where the profile states none."""
    return 0.0 if rep.static is None else float(rep.static_mJ) * 1e9


def _energy_figure(name: str, rep) -> Html:
    """Stacked bars per layer (memory access, compute) and, where the profile states a static
    power, one bar for the chip's static energy, in the unit that suits the profile."""
    plt = _pyplot()
    layers = rep.layers
    static = _static_pj(rep)
    names = [l.name for l in layers] + (["static (chip)"] if static else [])
    mem = [l.memory_pJ for l in layers] + ([0.0] if static else [])
    comp = [l.compute_pJ for l in layers] + ([0.0] if static else [])
    stat = [0.0] * len(layers) + ([static] if static else [])
    unit, scale = energy_unit(max(m + c + t for m, c, t in zip(mem, comp, stat)) or 1.0)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(3.4, 1.8 + 0.6 * len(names)), 2.7))
    bottom = np.zeros(len(names))
    parts = [("memory access", mem, "#4c72b0"), ("compute", comp, "#dd8452")]
    if static:
        parts.append(("static", stat, "#8c8c8c"))
    for label, vals, color in parts:
        v = np.asarray(vals, dtype=float) / scale
        if v.any():
            ax.bar(x, v, 0.6, bottom=bottom, label=label, color=color)
        bottom += v
    ax.set_xticks(x)
    tilt = len(names) > 4
    ax.set_xticklabels(names, rotation=30 if tilt else 0, ha="right" if tilt else "center")
    ax.set_ylabel(f"{unit} per inference")
    ax.set_title(f"{name}: {fmt_energy(rep.total_pJ + static)} per inference")
    ax.set_ylim(0, 1.25 * max(bottom.max(), 1e-12))
    ax.legend(frameon=False, fontsize=8, ncol=len(parts), loc="upper left")
    fig.tight_layout()
    return figure(fig, f"{name}: energy per layer, stacked by kind ({rep.model} accounting)"
                  + ("; the chip's static energy over the inference's steps beside it."
                     if static else "."), f"energy per layer on {name}")


def section_energy(ctx: ReportContext) -> Section:
    """Energy per inference on the chosen profiles, from the emulator's spike counts (bit-exact
    with Lava fixed_pt): a stacked bar chart beside the tables."""
    from .energy import fit_or_none, measure_activity, neurobench_metrics
    from .run import get_backend, infer
    net = ctx.net
    if net.quantized is None:
        body = note("Energy is priced from the deployed (quantized) network's spikes, and this "
                    f"network cannot be quantized: {ctx.quant_error}", "bad")
        return Section("energy", TITLES["energy"], body, {"error": ctx.quant_error})
    r = net.readout
    ctx.log(f"energy: counting spikes on the emulator ({len(ctx.y)} samples)")
    res = infer(get_backend("emulator"), net, ctx.x, r, keep_counts=True)
    act = measure_activity(net, res, backend="emulator")
    reports, errors = {}, {}
    for p in ctx.profiles:
        try:
            reports[p] = act.report(p, fit=fit_or_none(net, p))
        except ValueError as exc:
            errors[p] = _one_line(exc)
    parts = [tag("p", f"Spike counts of the {r.kind} readout's runs on the emulator (bit-exact "
                      f"with Lava fixed_pt) over the first {len(ctx.y)} test samples; "
                      f"{net.runs_per_inference(r)} run(s) per inference, included.",
                 class_="muted")]
    summary = {"samples": len(ctx.y), "readout": r.kind, "profiles": {}, "errors": errors}
    if reports:
        has_static = any(rep.static is not None for rep in reports.values())
        head = ["profile", "model", "parameters", "memory access", "compute"] + \
            (["static"] if has_static else []) + ["total per inference"]
        rows = []
        for name, rep in reports.items():
            st = _static_pj(rep)
            rows.append([name, rep.model, fmt_int(rep.parameters), fmt_energy(rep.memory_pJ),
                         fmt_energy(rep.compute_pJ)]
                        + ([fmt_energy(st) if rep.static else "—"] if has_static else [])
                        + [Html(tag("strong", fmt_energy(rep.total_pJ + st)))])
            summary["profiles"][name] = {"total_pJ": rep.total_pJ + st,
                                         "dynamic_pJ": rep.total_pJ,
                                         "memory_pJ": rep.memory_pJ,
                                         "compute_pJ": rep.compute_pJ, "static_pJ": st,
                                         "static": rep.static,
                                         "synop_convention": rep.synop_convention,
                                         "runs_per_inference": rep.runs_per_inference}
        parts.append(table(head, rows, numeric=range(2, len(head))))
        for name, rep in reports.items():
            lrows = [[l.name, fmt_int(l.parameters), f"{l.synaptic_events:,.0f}",
                      fmt_energy(l.memory_pJ), fmt_energy(l.compute_pJ),
                      fmt_energy(l.total_pJ)] for l in rep.layers]
            side = [table(["layer", "parameters", "synaptic events", "memory", "compute",
                           "total"], lrows, numeric=range(1, 6),
                          caption=f"{name} ({rep.model}), per layer", cls="compact")]
            side += [tag("p", n_, class_="muted small") for n_ in rep.notes]
            if rep.static is not None:
                s_ = rep.static
                side.append(tag("p", f"Static energy {fmt_energy(_static_pj(rep))} per "
                                     f"inference: {s_['power_W']:g} W static power x "
                                     f"{s_['chips']} chip(s) x {s_['steps']} steps x "
                                     f"{s_['step_time_us']:g} us per step (the profile's "
                                     "cited figures).", class_="muted small"))
            parts.append(tag("div", join((tag("div", _energy_figure(name, rep), class_="col"),
                                          tag("div", join(side), class_="col"))),
                             class_="split"))
    nb = neurobench_metrics(net, res, backend="emulator")   # NeuroBench's metrics, same run
    summary["neurobench"] = nb.to_dict()
    nb_rows = [["footprint (float32 / Loihi fixed point)",
                f"{fmt_int(nb.footprint_bytes)} B / {fmt_int(nb.fixed_point_bytes)} B"],
               ["connection sparsity", f"{nb.connection_sparsity:.4f}"],
               ["activation sparsity", f"{nb.activation_sparsity:.4f}"],
               ["synaptic operations per inference (dense)", fmt_int(round(nb.dense))],
               ["effective MACs / ACs per inference",
                f"{nb.effective_macs:,.0f} / {nb.effective_acs:,.0f}"]]
    parts.append(table(["NeuroBench metric (Yik et al. 2025)", "value"], nb_rows,
                       caption="NeuroBench's static and workload metrics of the same run "
                               "(ff-neuro energy --neurobench)", cls="compact"))
    for p, why in errors.items():
        parts.append(note(f"profile {p}: {why}", "warn"))
    return Section("energy", TITLES["energy"], join(parts), summary)


def _import_origin(training: dict) -> Optional[Tuple[str, str, str]]:
    """``(format, where from, how)`` of an imported model, else None."""
    fmt = training.get("imported_from")
    if not fmt:
        return None
    if fmt == "snntorch":
        return ("snnTorch", f"an snnTorch module ({training.get('source', 'nn.Sequential')})",
                "ffn.from_snntorch(module, input_shape=..., time_steps=...)")
    if fmt == "nir":
        prod = training.get("producer")
        return ("NIR", "a NIR graph" + (f" written by {prod}" if prod else ""),
                "ff-neuro import MODEL.nir --out imported.h5")
    if fmt == "netx":
        f = training.get("file")
        return ("NetX", "a NetX HDF5 file (lava-dl)" + (f": {f}" if f else ""),
                f"ff-neuro import {shlex.quote(str(f)) if f else 'MODEL.netx.h5'} "
                "--out imported.h5")
    return (str(fmt), str(fmt), "")


def section_import(ctx: ReportContext) -> Optional[Section]:
    """Where an imported model came from (snnTorch, NIR, NetX) and what it became."""
    origin = _import_origin(ctx.net.training or {})
    if origin is None:
        return None
    fmt, where, how = origin
    net = ctx.net
    neurons = sorted({(l.neuron.reset, l.neuron.reset_delay, l.neuron.current_memory,
                       l.recurrent is not None) for l in net.layers})
    kinds = "; ".join(
        f"reset {r}{' (one step later)' if d else ''}"
        f"{', current memory' if c else ''}{', recurrent' if rec else ''}"
        for r, d, c, rec in neurons)
    facts = [("imported from", where), ("format", fmt),
             ("layers", ", ".join(f"{l.kind} {fmt_shape(l.in_shape)} -> {fmt_shape(l.out_shape)}"
                                  for l in net.layers)),
             ("neurons", kinds), ("readout", _readout_text(net.readout)),
             ("input encoding", f"{getattr(net.encoder, 'kind', '')}, T = {net.time_steps}")]
    if fmt == "NetX":
        facts.append(("fixed point", "the file's integers (the float layers are their "
                                     "dequantized twins)"))
    body = join([dl(facts)] + ([tag("p", join(("made with ", code(how))))] if how else []))
    return Section("import", TITLES["import"], body,
                   {k: v for k, v in (ctx.net.training or {}).items()
                    if isinstance(v, (str, int, float, bool))})


def _learning_record(ctx: ReportContext) -> Optional[dict]:
    """The on-chip learning trial to show: the ``learning`` given to the report (the dict or
    JSON file ``ff-neuro learn`` writes), else one the model's training record carries."""
    if ctx.learning is not None:
        return ctx.learning
    t = ctx.net.training or {}
    for key in ("onchip", "on_chip", "learning_trial", "onchip_learning"):
        if isinstance(t.get(key), dict) and t[key].get("curve"):
            return t[key]
    return None


def section_onchip(ctx: ReportContext) -> Optional[Section]:
    """An on-chip learning trial (``ff-neuro learn``): its learning curve and figures."""
    rec = _learning_record(ctx)
    if rec is None:
        return None
    curve = rec.get("curve") or []
    where = "the Lava emulator" if rec.get("on") == "emulator" else "Lava"
    facts = [("ran on", f"{where}, {rec.get('mode', '?')}"),
             ("samples learned online", str(rec.get("samples_learned", "?"))),
             ("start", str(rec.get("start", "?")))]
    if rec.get("final_accuracy") is not None:
        facts.append(("final accuracy", f"{100 * rec['final_accuracy']:.2f} % on "
                                        f"{rec.get('eval_samples', '?')} test samples"))
    if rec.get("samples_per_s"):
        facts.append(("speed", f"{rec['samples_per_s']:.1f} samples/s, "
                               f"{rec.get('ms_per_step', float('nan')):.2f} ms per step"))
    if "host_rule" in rec:
        facts.append(("host rule, same samples", f"{100 * rec['host_rule']['accuracy']:.2f} %"))
    fx = rec.get("fixed_point")
    if fx:
        dv = fx.get("deviation", {})
        facts.append(("fixed_pt vs float rule",
                      f"weight rel. error {dv.get('weight_rel_error', float('nan')):.4f}, "
                      f"saturated weights {dv.get('weights_saturated', '?')}/"
                      f"{dv.get('weights', '?')}"))
    parts = [dl(facts)]
    if curve:
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
        ax.plot([c["samples"] for c in curve], [100 * c["accuracy"] for c in curve], "o-",
                color=COLORS["lava-fixed"], label=f"{where} {rec.get('mode', '')}")
        if "host_rule" in rec:
            ax.axhline(100 * rec["host_rule"]["accuracy"], color="gray", ls="--",
                       label="host rule, end")
        ax.set_xlabel("samples learned online")
        ax.set_ylabel("test accuracy (%)")
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(frameon=False)
        parts.append(figure(fig, "Learning curve of the on-chip trial: accuracy after every "
                                 f"block of samples learned on {where}.", "learning curve"))
        parts.append(table(["samples", "accuracy"],
                           [[str(c["samples"]), f"{100 * c['accuracy']:.2f} %"] for c in curve],
                           numeric=(0, 1), cls="compact"))
    return Section("onchip", TITLES["onchip"], join(parts),
                   {k: rec.get(k) for k in ("mode", "samples_learned", "final_accuracy")})


def collect_commands(ctx: ReportContext) -> None:
    """The commands that reproduce each figure of the page, by section (``ctx.commands``:
    ``(what, command lines)``)."""
    from .run import backend_class
    m, q, d = shlex.quote(ctx.model_arg), shlex.quote(ctx.fixed_model_arg), _data_args(ctx)
    n, nl = len(ctx.y), ctx.lava_samples
    cmds = []
    if ctx.quantized_here:
        cmds.append(("the fixed-point model (the file holds float layers only) and the "
                     "quantization table", f"ff-neuro quantize {m}{d} --out {q}"))
    cmds.append(("the network and its fit on each chip profile (printed by the export)",
                 "\n".join(f"ff-neuro export {q} --out model.netx.h5 --profile {p}"
                           for p in ("loihi", "loihi2", "truenorth"))))
    acc = []
    for name in ctx.backends:
        if not ctx.availability[name][0]:
            continue
        k = nl if backend_class(name).supervised else n
        for r in ctx.net.readouts:
            acc.append(f"ff-neuro evaluate {q}{d} --backend {name} --readout {r.kind} "
                       f"--samples {k}")
    if acc:
        cmds.append(("accuracy per backend and readout", "\n".join(acc)))
    if ctx.parity is not None:
        cmds.append(("parity: the tables and the mismatch heat map",
                     f"ff-neuro parity {q}{d} --samples {ctx.parity_samples} --backends "
                     f"{','.join(ctx.parity.accuracy)} --plot parity.png"))
    if ctx.quant_report is not None and not ctx.quantized_here:
        data = (f"ffn.load_dataset({ctx.dataset_name!r})" if ctx.dataset is not None else
                "DATASET")
        cmds.append(("the quantization table (the float layers quantized again)",
                     "python - <<'EOF'\nimport dataclasses, ff_neuro as ffn\n"
                     "from ff_neuro.pipeline import quantize_for_dataset\n"
                     f"net = ffn.load({ctx.model_arg!r})\n"
                     "_, rep = quantize_for_dataset(dataclasses.replace(net, quantized=None), "
                     f"{data})\nprint(rep)\nEOF"))
    if ctx.net.quantized is not None:
        cmds.append(("energy per inference: the tables and a stacked bar chart",
                     f"ff-neuro energy {q}{d} --compare {','.join(ctx.profiles)} "
                     f"--samples {n} --plot energy.png --csv energy.csv"))
    rec = _learning_record(ctx)
    if rec is not None:
        on = f" --on {rec['on']}" if rec.get("on") else ""
        curve = rec.get("curve") or []
        every = f" --every {curve[1]['samples']}" if len(curve) > 1 else ""
        ev = f" --eval-samples {rec['eval_samples']}" if rec.get("eval_samples") else ""
        cmds.append(("the on-chip learning curve (and the start and size of the trial's "
                     "network: --from, --hidden)",
                     f"ff-neuro learn{on} --mode {rec.get('mode', 'floating_pt')} --samples "
                     f"{rec.get('samples_learned', 1000)}{every}{ev} --dataset "
                     f"{shlex.quote(rec.get('dataset', ctx.dataset_name))} --out runs/learn"))
    opts = f" --samples {n} --lava-samples {nl} --profiles {','.join(ctx.profiles)}"
    if rec is not None and ctx.learning is not None:
        opts += " --learning " + shlex.quote(ctx.learning_path or "runs/learn.json")
    cmds.append(("this page", f"ff-neuro report {m}{d}{opts} --out report.html"))
    ctx.commands = cmds


def section_commands(ctx: ReportContext) -> Section:
    """The ff-neuro commands that reproduce every figure of the page."""
    parts = [tag("p", "Run in the folder the report was made in; each command prints its table "
                      "(add --json for the numbers).", class_="muted")]
    for what, cmd in ctx.commands:
        parts.append(tag("h4", what))
        parts.append(pre(cmd))
    return Section("commands", TITLES["commands"], join(parts),
                   {"commands": [c for _, c in ctx.commands]})


# -- the page ----------------------------------------------------------------------------------
CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--soft:#f6f8fa;--accent:#0b5cad;
--ok:#1a7f37;--okbg:#dafbe1;--bad:#cf222e;--badbg:#ffebe9;--warn:#9a6700;--warnbg:#fff8c5;
--info:#0b5cad;--infobg:#ddf4ff}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--soft);color:var(--fg);
font:15px/1.55 -apple-system,"Segoe UI","Noto Sans","DejaVu Sans",Helvetica,Arial,sans-serif}
header.top{background:#0d2238;color:#fff;padding:28px 0 22px}
header.top h1{margin:0 0 4px;font-size:26px;font-weight:600;letter-spacing:-.01em}
header.top .sub{color:#c9d6e3;font-size:14px}
.wrap{max-width:1180px;margin:0 auto;padding:0 24px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:12px;
margin-top:18px}
.card{background:rgba(255,255,255,.08);border:1px solid rgba(255,255,255,.15);border-radius:8px;
padding:10px 14px}
.card .k{font-size:12px;color:#c9d6e3;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:20px;font-weight:600}
nav.toc{position:sticky;top:0;z-index:5;background:#fff;border-bottom:1px solid var(--line)}
nav.toc .wrap{display:flex;flex-wrap:wrap;gap:4px 18px;padding-top:9px;padding-bottom:9px}
nav.toc a{color:var(--accent);text-decoration:none;font-size:14px}
nav.toc a:hover{text-decoration:underline}
main{padding:18px 0 40px}
section{background:#fff;border:1px solid var(--line);border-radius:10px;margin:18px 0;
padding:6px 24px 20px;scroll-margin-top:52px}
h2{font-size:21px;margin:18px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:16px;margin:22px 0 8px}
h4{font-size:14px;margin:16px 0 4px;color:var(--muted);font-weight:600}
p{margin:8px 0}
.muted{color:var(--muted);font-size:13.5px}
.small{font-size:12.5px}
code,pre{font-family:ui-monospace,SFMono-Regular,"DejaVu Sans Mono",Menlo,Consolas,monospace;
font-size:13px}
:not(pre)>code{background:var(--soft);border:1px solid var(--line);border-radius:4px;
padding:0 4px}
pre{margin:0;padding:10px 14px;background:#0d1117;color:#e6edf3;border-radius:6px;
white-space:pre;line-height:1.45}
.scroll{overflow-x:auto;max-width:100%;margin:10px 0;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;font-size:13.5px;min-width:50%}
table.wide{min-width:100%}
caption{text-align:left;font-weight:600;padding:4px 0;color:var(--fg)}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;
white-space:nowrap}
td.text{white-space:normal;min-width:14em}
th{background:var(--soft);font-weight:600;white-space:normal;min-width:3.5em}
tbody tr:nth-child(even) td{background:#fbfcfd}
tfoot td{font-weight:600;border-top:2px solid var(--line)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.compact th,table.compact td{padding:3px 7px;font-size:12.5px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:10px 0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;min-width:0;overflow-wrap:anywhere}
figure{margin:14px 0;max-width:100%;overflow-x:auto}
figure img{max-width:100%;height:auto;display:block;border:1px solid var(--line);
border-radius:6px;background:#fff}
figcaption{color:var(--muted);font-size:13px;margin-top:6px;max-width:900px}
.note{border-radius:6px;padding:8px 12px;margin:10px 0;font-size:14px;border:1px solid}
.note.info{background:var(--infobg);border-color:#b6e3ff}
.note.ok{background:var(--okbg);border-color:#aceebb}
.note.warn{background:var(--warnbg);border-color:#f5e0a0}
.note.bad{background:var(--badbg);border-color:#ffcecb}
.badge{display:inline-block;border-radius:999px;padding:0 8px;font-size:12px;font-weight:600;
line-height:20px;white-space:nowrap}
.badge.ok{background:var(--okbg);color:var(--ok)}
.badge.bad{background:var(--badbg);color:var(--bad)}
.badge.warn{background:var(--warnbg);color:var(--warn)}
.badge.info{background:var(--infobg);color:var(--info)}
.split{display:grid;grid-template-columns:auto minmax(0,1fr);gap:28px;
align-items:center;border-top:1px solid var(--line);margin-top:12px;padding-top:4px}
.split .col{min-width:0}
@media (max-width:980px){.split{grid-template-columns:minmax(0,1fr)}}
footer{color:var(--muted);font-size:13px;text-align:center;padding:10px 0 30px}
"""

#: the page's only script: records whether every embedded image decoded (read by the tests)
SCRIPT = ("addEventListener('load',function(){var i=[].slice.call(document.images);"
          "document.documentElement.setAttribute('data-images-ok',String(i.every("
          "function(m){return m.complete&&m.naturalWidth>0})))})")


def _cards(ctx: ReportContext, sections: Dict[str, Section]) -> Html:
    cards = []
    acc = sections["accuracy"].summary.get("accuracy", {})
    default = ctx.net.readout.kind
    for name in ("emulator", "float"):
        if default in acc.get(name, {}):
            cards.append((f"accuracy ({name})", f"{100 * acc[name][default]['accuracy']:.2f} %"))
            break
    pairs = sections["parity"].summary.get("pairs", {})
    for p in ("emulator_vs_lava-fixed", "float_vs_emulator"):
        if p in pairs:
            a = pairs[p]["spike_agreement"]
            cards.append((f"equal spikes, {p.replace('_vs_', ' vs ')}",
                          "100 %" if a == 1 else f"{100 * a:.2f} %"))
            break
    prof = sections["energy"].summary.get("profiles", {})
    if prof:
        p, e = next(iter(prof.items()))
        cards.append((f"energy ({p})", fmt_energy(e["total_pJ"])))
    fit = sections["network"].summary.get("fit", {})
    if "loihi" in fit:
        cards.append(("fits Loihi", "yes" if fit["loihi"]["fits_on_one_chip"] else "no"))
    cards.append(("neurons / synapses",
                  f"{sum(ctx.net.widths):,} / {sections['network'].summary['synapses']:,}"))
    return tag("div", join(tag("div", join((tag("div", k, class_="k"), tag("div", v,
                                                                            class_="v"))),
                               class_="card") for k, v in cards), class_="cards")


def render_page(ctx: ReportContext, sections: List[Section], title: str, seconds: float) -> str:
    """The self-contained HTML page."""
    from . import __version__
    by_id = {s.id: s for s in sections}
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    sub = (f"{ctx.dataset_name} · {' - '.join(str(s) for s in ctx.net.sizes)} · "
           f"{ctx.net.readout.kind} readout · built {now} by ff-neuro {__version__} in "
           f"{seconds:.0f} s")
    head = Html('<meta charset="utf-8"><meta name="viewport" '
                'content="width=device-width,initial-scale=1">') + tag("title", title) + \
        Html(f"<style>{CSS}</style>")
    top = tag("header", tag("div", join((tag("h1", title), tag("div", sub, class_="sub"),
                                         _cards(ctx, by_id))), class_="wrap"), class_="top")
    toc = tag("nav", tag("div", join(tag("a", s.title, href=f"#{s.id}") for s in sections),
                         class_="wrap"), class_="toc")
    body = tag("main", tag("div", join(
        tag("section", join((tag("h2", s.title), s.body)), id=s.id) for s in sections),
        class_="wrap"))
    foot = tag("footer", "ff-neuro deployment report: a single file, no network access needed.")
    page = Html("<!DOCTYPE html>\n") + tag(
        "html", join((tag("head", head), tag("body", join((top, toc, body, foot))),
                      Html(f"<script>{SCRIPT}</script>"))), lang="en")
    return str(page) + "\n"


@dataclass
class DeploymentReport:
    """The page :func:`build_report` made: ``html`` (the whole page), its ``sections``,
    ``to_dict()`` (each section's numbers), ``write(path)``; ``path`` once written."""

    title: str
    html: str
    sections: List[Section]
    seconds: float
    path: Optional[Path] = None

    @property
    def section_ids(self) -> List[str]:
        return [s.id for s in self.sections]

    def write(self, path) -> Path:
        """Write the page (atomically)."""
        from .fileio import atomic_path
        path = Path(path)
        with atomic_path(path) as tmp:
            tmp.write_text(self.html, encoding="utf-8")
        self.path = path
        return path

    def figures(self) -> List[Tuple[str, str, bytes]]:
        """The page's plots in page order: ``(section id, alt text, PNG bytes)`` (the
        documentation's figures are taken from here, ``scripts/docs_figures.py``)."""
        return [(s.id, html.unescape(m[2]), base64.b64decode(m[1]))
                for s in self.sections for m in _IMAGE_RE.finditer(s.body)]

    def to_dict(self) -> dict:
        d = {"title": self.title, "path": None if self.path is None else str(self.path),
             "bytes": len(self.html.encode("utf-8")), "seconds": self.seconds,
             "sections": self.section_ids}
        for s in self.sections:
            d[s.id] = s.summary
        return d

    def format(self) -> str:
        """A short text summary."""
        lines = [f"{self.title}: {len(self.sections)} sections "
                 f"({', '.join(self.section_ids)}), built in {self.seconds:.0f} s"]
        acc = next((s.summary for s in self.sections if s.id == "accuracy"), {})
        for b, rs in acc.get("accuracy", {}).items():
            lines.append(f"  {b:<11} " + ", ".join(
                f"{k} {100 * v['accuracy']:.2f} % ({v['samples']})" for k, v in rs.items()))
        for b, why in acc.get("unavailable", {}).items():
            lines.append(f"  {b:<11} not available here: {why}")
        par = next((s.summary for s in self.sections if s.id == "parity"), {})
        for p, v in par.get("pairs", {}).items():
            lines.append(f"  {p}: spike agreement {v['spike_agreement']:.6f}")
        en = next((s.summary for s in self.sections if s.id == "energy"), {})
        for p, v in en.get("profiles", {}).items():
            lines.append(f"  energy on {p}: {fmt_energy(v['total_pJ'])} per inference")
        if self.path is not None:
            lines.append(f"report: {self.path}")
        return "\n".join(lines)

    __str__ = format


def _resolve_data(net: Network, data, data_dir) -> tuple:
    """``(dataset or None, name, x_test, y_test, cli args)``."""
    from .data import Dataset, dataset_from_record, load_dataset
    if data is None:
        ds = dataset_from_record(net.dataset or {"name": "digits"}, data_dir)
        args = ()
    elif isinstance(data, str):
        ds = load_dataset(data, data_dir)
        args = ("--dataset", data)
    elif isinstance(data, Dataset) or hasattr(data, "x_test"):
        ds = data
        recorded = str((net.dataset or {}).get("name") or "digits")
        args = () if ds.name == recorded else ("--dataset", ds.name)
    elif isinstance(data, tuple) and len(data) == 2:
        x, y = (np.asarray(a) for a in data)
        x = net.check_inputs(x)
        return None, "the given samples", x, net.check_labels(y, len(x)), ()
    else:
        raise TypeError(f"data: expected a Dataset, a dataset name or an (x, y) pair, got "
                        f"{type(data).__name__}")
    net.check_dataset(ds)
    if data_dir is not None:
        args += ("--data-dir", str(data_dir))
    return ds, ds.name, ds.x_test, ds.y_test, args


def build_report(net: Network, data=None, out=None, *, samples: Optional[int] = None,
                 lava_samples: int = DEFAULT_LAVA_SAMPLES,
                 profiles: Sequence[str] = DEFAULT_PROFILES,
                 backends: Optional[Sequence[str]] = None, timeout_s: float = 600.0,
                 learning=None, model_path=None, data_dir=None, title: Optional[str] = None,
                 log: Optional[Callable[[str], None]] = None) -> DeploymentReport:
    """Build the deployment report of ``net`` (see :func:`ff_neuro.api.report`, which documents
    the arguments) and write it to ``out`` when given."""
    from .energy import load_profile
    from .run import BACKENDS, available, canonical
    t0 = time.perf_counter()
    log = log or (lambda msg: None)
    if not isinstance(net, Network):
        raise TypeError(f"net must be a Network, got {type(net).__name__}")
    if out is not None:
        out = checks.writable_file(out, "report file")
    lava_samples = checks.count("lava_samples", lava_samples)
    checks.positive("timeout_s", timeout_s)
    if isinstance(profiles, str):
        profiles = profiles.split(",")
    if isinstance(backends, str):
        backends = backends.split(",")
    profiles = tuple(dict.fromkeys(str(p).strip() for p in profiles if str(p).strip()))
    if not profiles:
        raise ValueError("profiles: give at least one profile name")
    for p in profiles:
        load_profile(p)                        # a bad profile is refused before any work
    names = tuple(dict.fromkeys(canonical(b) for b in (BACKENDS if backends is None
                                                        else backends) if str(b).strip()))
    if not names:
        raise ValueError("backends: give at least one backend")
    learning_path = None
    if isinstance(learning, (str, Path)):
        import json
        learning_path = str(learning)
        try:
            learning = json.loads(Path(learning).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"learning: cannot read {learning}: {_one_line(exc)}") from exc
    if learning is not None and not (isinstance(learning, dict) and "curve" in learning):
        raise ValueError("learning: expected the result `ff-neuro learn` writes (OUT.json, "
                         "with a 'curve')")
    ds, ds_name, x, y, cli_data = _resolve_data(net, data, data_dir)
    n = min(DEFAULT_SAMPLES, len(y)) if samples is None else \
        checks.samples("samples", samples, len(y), f"the test split of {ds_name}")
    x, y = x[:n], y[:n]
    ctx = ReportContext(net=net, source=net, x=x, y=y, dataset_name=ds_name, dataset=ds,
                        lava_samples=min(lava_samples, n), backends=names,
                        availability={b: available(b) for b in BACKENDS}, profiles=profiles,
                        timeout_s=float(timeout_s), log=log,
                        model_path=None if model_path is None else str(model_path),
                        cli_data=cli_data, learning=learning, learning_path=learning_path)
    prepare_quantization(ctx)
    if ctx.net.quantized is None:
        from .run import FIXED_POINT
        for b in FIXED_POINT:
            if ctx.availability[b][0]:
                ctx.availability[b] = (False, "runs the quantized network, and this one "
                                              f"cannot be quantized ({ctx.quant_error})")
    run_parity_runs(ctx)
    title = title or (f"Deployment report: {Path(model_path).name}" if model_path else
                      "Deployment report")
    sections = []
    for make in (section_network, section_accuracy, section_parity, section_quantization,
                 section_energy, section_import, section_onchip):
        ctx.log(f"section: {make.__name__.replace('section_', '')}")
        s = make(ctx)
        if s is not None:
            sections.append(s)
    collect_commands(ctx)
    sections.append(section_commands(ctx))
    seconds = time.perf_counter() - t0
    page = render_page(ctx, sections, title, seconds)
    rep = DeploymentReport(title=title, html=page, sections=sections, seconds=seconds)
    if out is not None:
        rep.write(out)
    return rep


__all__ = ["DEFAULT_LAVA_SAMPLES", "DEFAULT_PROFILES", "DEFAULT_SAMPLES", "DeploymentReport",
           "REQUIRED_SECTIONS", "ReportContext", "SECTIONS", "Section", "build_report",
           "render_page"]
