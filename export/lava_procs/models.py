"""CPU ProcessModels (fixed_pt and floating_pt) for :mod:`.process`."""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

# Absolute import: Lava loads this file by path, as a top-level module.
from ff_neuro.export.lava_procs.process import FailingProcess, SpikeFileRecorder, SpikeFileSource


class _AbstractSourceModel(PyLoihiProcessModel):
    s_out = None

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._data = None

    def run_spk(self) -> None:
        if self._data is None:
            self._data = np.load(self.proc_params["path"], mmap_mode="r")
        row = self._data[(self.time_step - 1) % self._data.shape[0]]
        self.s_out.send(np.asarray(row, dtype=self._dtype))


@implements(proc=SpikeFileSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySpikeFileSourceFixed(_AbstractSourceModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32)
    _dtype = np.int32


@implements(proc=SpikeFileSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySpikeFileSourceFloat(_AbstractSourceModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    _dtype = np.float64


class _AbstractRecorderModel(PyLoihiProcessModel):
    a_in = None

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._out = None

    def run_spk(self) -> None:
        data = self.a_in.recv()
        if self._out is None:
            self._out = np.load(self.proc_params["path"], mmap_mode="r+")
        row = self.time_step - 1
        if row < self._out.shape[0]:
            self._out[row] = data != 0


@implements(proc=SpikeFileRecorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySpikeFileRecorderFixed(_AbstractRecorderModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)


@implements(proc=SpikeFileRecorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySpikeFileRecorderFloat(_AbstractRecorderModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)


@implements(proc=FailingProcess, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyFailingModelFixed(PyLoihiProcessModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self) -> None:
        self.a_in.recv()
        if self.time_step >= self.proc_params["fail_at"]:
            raise RuntimeError(f"FailingProcess raised on purpose at step {self.time_step}")


from ff_neuro.export.lava_procs.process import BroadcastFileSource, HebbianLIF  # noqa: E402


@implements(proc=BroadcastFileSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyBroadcastFileSourceFloat(PyLoihiProcessModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._data = None

    def run_spk(self) -> None:
        if self._data is None:
            self._data = np.load(self.proc_params["path"], mmap_mode="r")
        value = float(self._data[(self.time_step - 1) % self._data.shape[0]])
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
        self.s_out.send(s.astype(float))
        self.s_out_bap.send(s)
        self.s_out_y1.send(self.y1)
        self.s_out_y2.send(self.y2)
        self.s_out_y3.send(self.y3)
