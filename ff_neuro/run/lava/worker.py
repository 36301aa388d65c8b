"""Child process that runs one Lava job described by a JSON request (see :mod:`ff_neuro.run.lava`).

Run as ``python -m ff_neuro.run.lava.worker REQUEST.json`` (by
:func:`ff_neuro.run.lava.backend.run_netx_windows`). It builds the NetX network (``fixed_pt``)
or the float network (``floating_pt``), attaches the file source and per-layer recorders, runs,
and always calls ``stop()``. Its result (timings) or its error (with traceback) goes to the
``result`` JSON path. The parent enforces the time limit and kills this process group if it
hangs.
"""
from __future__ import annotations

import faulthandler
import json
import logging
import os
import signal
import sys
import time
import traceback


def _process_model_tracebacks(net) -> list:
    """Tracebacks of ProcessModels that raised, which Lava's runtime collected from its child
    processes (it only logs them at INFO level, filtered by default)."""
    try:
        actors = net._runtime._messaging_infrastructure.actors
    except AttributeError:
        return []
    out = []
    for actor in actors:
        exc = getattr(actor, "_exception", None)
        if exc:
            out.append(exc[1])
    return out


def _spec_network(spec_path: str, reset_interval: int):
    """The layers of a spec (:func:`~ff_neuro.run.lava.backend.save_spec`) as Lava processes,
    per layer ``k`` and step::

        a[t] = W_k x[t-1]   or   conv(x[t-1], W_k)      # one-step latency; conv ports (W, H, C)
        r[t] = W_rec s[t-1]                             # a recurrent layer: its own spikes
        the neuron: LIFReset (Lava's stock LIF) or CubaLIF (any reset, per-neuron parameters)

    ``floating_pt`` specs hold float weights and parameters; ``fixed_pt`` specs Loihi integers
    with NetX's weight mapping (Dense ``weight_exp`` and ``num_weight_bits``; LIFReset's ``du``
    holds ``i_decay - 1`` and the bias exponent is 6, as NetX sets them). Conv weights come in
    Lava's layout (C_out, kW, kH, C_in), spatially flipped; a dense layer after a conv layer
    reads its (W, H, C) output transposed to (C, H, W) and flattened, as NetX's ``flatten``
    does. Same reset staggering as NetX builds (layer ``k`` resets when
    ``time_step % T == (k + 2) % T``), so windows line up with NetX runs. Returns ``(first
    process to run, input port, per-layer spike out ports)``.
    """
    import numpy as np
    from lava.proc.conv.process import Conv
    from lava.proc.dense.process import Dense
    from lava.proc.lif.process import LIFReset

    from ff_neuro.run.lava.procs.process import CubaLIF

    spec = np.load(spec_path)
    fixed = bool(spec["quantized"])
    inp, outs, first, prev, prev_conv = None, [], None, None, False
    for k in range(int(spec["n_layers"])):
        w = np.ascontiguousarray(spec[f"weight_{k}"])
        w = w.astype(np.int64) if fixed else w.astype(np.float64)
        bits = int(spec["input_message_bits"]) if k == 0 else 0
        conv = str(spec[f"kind_{k}"]) == "conv"
        if conv:
            syn = Conv(weight=w, input_shape=tuple(int(s) for s in spec[f"in_shape_{k}"]),
                       padding=tuple(int(v) for v in spec[f"padding_{k}"]),
                       stride=tuple(int(v) for v in spec[f"stride_{k}"]),
                       dilation=tuple(int(v) for v in spec[f"dilation_{k}"]),
                       num_message_bits=bits)
            shape = tuple(int(s) for s in syn.output_shape)
        elif fixed:
            syn = Dense(weights=w, weight_exp=int(spec[f"weight_exp_{k}"]),
                        num_weight_bits=int(spec[f"weight_bits_{k}"]), num_message_bits=bits)
            shape = (w.shape[0],)
        else:
            syn = Dense(weights=w, num_message_bits=8 if bits else 0)
            shape = (w.shape[0],)
        vth, du, dv, bias = (spec[f"{n}_{k}"] for n in ("vth", "du", "dv", "bias"))
        window = {"reset_interval": reset_interval, "reset_offset": k + 2}
        plain = bool(spec[f"plain_{k}"]) and f"rec_weight_{k}" not in spec
        if plain:
            one = (lambda a: int(a.flat[0])) if fixed else (lambda a: float(a.flat[0]))
            lif = LIFReset(shape=shape, du=one(du) - 1 if fixed else one(du), dv=one(dv),
                           vth=one(vth), bias_mant=bias.reshape(shape),
                           bias_exp=6 if fixed else 0, **window)
        else:
            lif = CubaLIF(shape=shape, vth=vth.reshape(shape), du=du.reshape(shape),
                          dv=dv.reshape(shape), bias=bias.reshape(shape),
                          reset=str(spec[f"reset_{k}"]),
                          reset_delay=bool(spec[f"reset_delay_{k}"]),
                          bias_in=str(spec[f"bias_in_{k}"]), **window)
            if f"rec_weight_{k}" in spec:   # (an unconnected r_in receives zeros)
                w_rec = spec[f"rec_weight_{k}"]
                rec = (Dense(weights=w_rec.astype(np.int64),
                             weight_exp=int(spec[f"rec_weight_exp_{k}"]),
                             num_weight_bits=int(spec[f"rec_weight_bits_{k}"]))
                       if fixed else Dense(weights=w_rec.astype(np.float64)))
                lif.s_out.connect(rec.s_in)
                rec.a_out.connect(lif.r_in)
        syn.a_out.connect(lif.a_in)
        if prev is None:
            inp, first = syn.s_in, syn
        elif prev_conv and not conv:
            prev.s_out.transpose([2, 1, 0]).flatten().connect(syn.s_in)
        else:
            prev.s_out.connect(syn.s_in)
        outs.append(lif.s_out)
        prev, prev_conv = lif, conv
    return first, inp, outs


def start_worker(request_path: str):
    """Common start of a Lava worker: load the JSON request; returns ``(request, write)``
    where ``write(result)`` stores the result JSON atomically for the parent.

    On SIGUSR1 every process of the run (Lava's children are forked from this one and inherit
    the handler) prints its Python stack: the parent sends it before killing a hung run, so the
    error shows where each Lava process was stuck. A watchdog thread
    (:func:`~ff_neuro.run.lava.supervisor.start_watchdog`) kills the run and removes its files
    if the parent dies or the run outlives its deadline.
    """
    from ff_neuro.run.lava.supervisor import start_watchdog
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    with open(request_path) as fh:
        req = json.load(fh)
    if req.get("parent_pid"):
        start_watchdog(int(req["parent_pid"]), float(req["deadline"]),
                       req.get("cleanup_dirs", ()))

    def write(result: dict) -> None:
        tmp = req["result"] + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(result, fh)
        os.replace(tmp, req["result"])

    return req, write


def main(request_path: str) -> int:
    req, write = start_worker(request_path)
    result = {"ok": False, "phase": "start"}
    t0 = time.perf_counter()
    net = None

    def write_result() -> None:
        write(result)

    try:
        from lava.lib.dl import netx  # noqa: F401 (imported first: sets the fork start method)
        from lava.magma.core.run_conditions import RunSteps
        from lava.magma.core.run_configs import Loihi2SimCfg

        from ff_neuro.run.lava.procs.process import (FailingProcess, SpikeFileRecorder,
                                                     SpikeFileSource)
        result["import_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        if req["mode"] not in ("fixed_pt", "floating_pt"):
            raise ValueError(f"unknown mode {req['mode']!r} (fixed_pt|floating_pt)")
        if req.get("netx"):
            # The NetX file as lava-dl loads it: Dense + LIFReset in Loihi fixed point.
            net = netx.hdf5.Network(net_config=req["netx"],
                                    reset_interval=req["reset_interval"], reset_offset=1,
                                    input_message_bits=int(req.get("input_message_bits", 0)))
            inp, layer_outs = net.inp, [layer.out for layer in net.layers]
        else:
            net, inp, layer_outs = _spec_network(req["spec"], req["reset_interval"])
        # Conv inputs: the source sends (W, H, C) frames (Lava's layout).
        src = SpikeFileSource(path=req["input"], shape=tuple(req["input_shape"]))
        src.s_out.connect(inp)
        for out, rec_path in zip(layer_outs, req["recorders"]):
            rec = SpikeFileRecorder(path=rec_path, shape=out.shape)
            out.connect(rec.a_in)
        if req.get("inject_failure_at"):
            fail = FailingProcess(shape=layer_outs[0].shape,
                                  fail_at=int(req["inject_failure_at"]))
            layer_outs[0].connect(fail.a_in)
        result["build_s"] = time.perf_counter() - t1
        cfg = Loihi2SimCfg(select_tag=req["mode"],
                           loglevel=getattr(logging, req.get("loglevel", "WARNING")))
        t2 = time.perf_counter()
        result["phase"] = "run"
        net.run(condition=RunSteps(num_steps=int(req["n_steps"])), run_cfg=cfg)
        result["run_s"] = time.perf_counter() - t2
        result["ok"] = True
    except BaseException as exc:  # reported to the parent, which raises a clear error
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
        model_tbs = _process_model_tracebacks(net)
        if model_tbs:
            result["error"] = "a Lava ProcessModel raised: " + model_tbs[-1].strip().splitlines()[-1]
            result["model_tracebacks"] = model_tbs
    finally:
        # Written before stop(): after a failed run stop() can hang, and the parent then
        # reports this error instead of waiting for its time limit.
        result["phase"] = "stopping"
        write_result()
        if net is not None:
            t3 = time.perf_counter()
            try:
                net.stop()
            except BaseException as exc:  # pragma: no cover - reported, not raised
                result.setdefault("error", f"stop() failed: {exc}")
                result["ok"] = False
            result["stop_s"] = time.perf_counter() - t3
        result["total_s"] = time.perf_counter() - t0
        result["phase"] = "done"
        write_result()
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
