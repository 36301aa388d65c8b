"""CPU ProcessModels (fixed_pt and floating_pt) of :mod:`.process`."""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

# Absolute imports: Lava loads this file by path, as a top-level module.
from ff_neuro.run.lava.procs.models import _FileRowsModel
from ff_neuro.training.onchip.procs.process import BroadcastFileSource, HebbianLIF


@implements(proc=BroadcastFileSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyBroadcastFileSourceFloat(_FileRowsModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self) -> None:
        value = float(self._row())
        self.s_out.send(np.full(self.proc_params["shape"], value))


@implements(proc=HebbianLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyHebbianLIFFloat(PyLoihiProcessModel):
    """Float model of :class:`HebbianLIF` (see its docstring for the equations)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_third_factor_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_out_bap: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, bool)
    s_out_y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_out_y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_out_y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    l: np.ndarray = LavaPyType(np.ndarray, float)
    y1: np.ndarray = LavaPyType(np.ndarray, float)
    y2: np.ndarray = LavaPyType(np.ndarray, float)
    y3: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self) -> None:
        from ff_neuro.training.hebbian import modulator, trace_step
        p = self.proc_params
        a = self.a_in.recv()
        pol = self.a_third_factor_in.recv()
        if self.time_step % p["reset_interval"] == p["reset_offset"] % p["reset_interval"]:
            self.v[:] = 0.0
            self.l[:] = 0.0
        self.v[:] = self.v * (1.0 - p["dv"]) + a
        s = self.v > p["vth"]
        self.v[s] = 0.0
        self.l[:] = trace_step(self.l[None], s[None].astype(float), p["trace"], p["tau"],
                               p["mu"])[0]
        polarity = float(pol[0]) if pol.size else 0.0
        if polarity != 0.0:
            m = modulator(self.l[None], np.array([1.0 if polarity > 0 else 0.0]),
                          p["probability"], p["theta"], p["alpha"], p["eps"],
                          p["cross_term"])[0]
        else:
            m = np.zeros_like(self.l)
        ml = p["eta"] * m * self.l
        self.y1[:] = self.l
        self.y2[:] = np.maximum(ml, 0.0)
        self.y3[:] = np.maximum(-ml, 0.0)
        if p.get("record_dir"):
            if not hasattr(self, "_rec"):
                self._rec = _open_record(p["record_dir"])
            _record(self._rec, self.time_step, s, self.v, self.l, self.y2 - self.y3)
        self.s_out.send(s.astype(float))
        self.s_out_bap.send(s)
        self.s_out_y1.send(self.y1)
        self.s_out_y2.send(self.y2)
        self.s_out_y3.send(self.y3)


@implements(proc=BroadcastFileSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyBroadcastFileSourceFixed(_FileRowsModel):
    """fixed_pt twin of :class:`PyBroadcastFileSourceFloat` (the value as an integer)."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self) -> None:
        value = int(round(float(self._row())))
        self.s_out.send(np.full(self.proc_params["shape"], value, dtype=np.int32))


@implements(proc=HebbianLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyHebbianLIFFixed(PyLoihiProcessModel):
    """Integer model of :class:`HebbianLIF`: Lava's LIF fixed_pt (du = 1), 7-bit traces and the
    third factor as 7-bit ``y2``/``y3`` (equations and kernels:
    ``ff_neuro.training.onchip.fixed``)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_third_factor_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    s_out_bap: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, bool, precision=1)
    s_out_y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    s_out_y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    s_out_y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    l: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=7)
    y1: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=7)
    y2: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=7)
    y3: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=7)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        from ff_neuro.training.onchip.fixed import FixedHebbianParams
        self._q = FixedHebbianParams.from_rule(proc_params)
        self._v = None

    def run_spk(self) -> None:
        from ff_neuro.training.onchip import fixed as hf
        p = self.proc_params
        q = self._q
        if self._v is None:
            n = self.v.shape[0]
            self._v = np.zeros(n, dtype=np.int64)
            self._l = np.zeros(n, dtype=np.int64)
            self._y = np.zeros(n, dtype=np.int64)
            self._ye = np.zeros(n, dtype=np.float64)
            self._y2 = np.zeros(n, dtype=np.int64)
            self._y3 = np.zeros(n, dtype=np.int64)
            self._st = hf.new_stats()
            self._stats = (np.load(p["stats_path"], mmap_mode="r+") if p["stats_path"]
                           else None)
            self._rec = _open_record(p.get("record_dir"))
        a = self.a_in.recv()
        pol = self.a_third_factor_in.recv()
        if self.time_step % p["reset_interval"] == p["reset_offset"] % p["reset_interval"]:
            self._v[:] = 0
            self._l[:] = 0
        s = hf.lif_step(self._v, a, q)
        polarity = int(pol[0]) if pol.size else 0
        hf.neuron_tail(self._l, s, polarity, *q.kernel_args(), self._y, self._ye, self._y2,
                       self._y3, self._st)
        if self._stats is not None:
            self._stats[:] = self._st
        if self._rec is not None:
            _record(self._rec, self.time_step, s, self._v, self._l, self._y2 - self._y3)
        self.v[:] = self._v
        self.l[:] = self._l
        self.y1[:] = self._l
        self.y2[:] = self._y2
        self.y3[:] = self._y3
        self.s_out.send(s.astype(np.int32))
        self.s_out_bap.send(s)
        self.s_out_y1.send(self.y1)
        self.s_out_y2.send(self.y2)
        self.s_out_y3.send(self.y3)


def _open_record(record_dir):
    """The memory-mapped record files of ``record_dir`` (created by the host), or None."""
    if not record_dir:
        return None
    import os
    from ff_neuro.training.onchip.fixed import RECORDED
    return {k: np.load(os.path.join(record_dir, f"{k}.npy"), mmap_mode="r+") for k in RECORDED}


def _record(rec, time_step, s, v, l, y) -> None:
    """Row ``time_step - 1`` of each record file (steps beyond the files are not recorded)."""
    t = time_step - 1
    if t < rec["s"].shape[0]:
        rec["s"][t] = s
        rec["v"][t] = v
        rec["l"][t] = l
        rec["y"][t] = y
