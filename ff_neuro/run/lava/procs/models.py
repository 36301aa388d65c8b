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
from ff_neuro.run.lava.procs.process import (CubaLIF, FailingProcess, SpikeFileRecorder,
                                             SpikeFileSource)


class _FileRowsModel(PyLoihiProcessModel):
    """Sends, at time step ``t``, something made of row ``(t - 1) mod n`` of the ``.npy`` file
    ``proc_params["path"]`` (memory-mapped on first use)."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._data = None

    def _row(self):
        if self._data is None:
            self._data = np.load(self.proc_params["path"], mmap_mode="r")
        return self._data[(self.time_step - 1) % self._data.shape[0]]


class _AbstractSourceModel(_FileRowsModel):
    s_out = None

    def run_spk(self) -> None:
        self.s_out.send(np.asarray(self._row(), dtype=self._dtype))


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


class _AbstractCubaLIFModel(PyLoihiProcessModel):
    """The window reset and the recurrent input of :class:`CubaLIF`; the step itself is
    ff-neuro's reference neuron step (:mod:`ff_neuro.run.lif`), the equations written once."""

    a_in = None
    r_in = None
    s_out = None

    def __init__(self, proc_params):
        super().__init__(proc_params)
        p = proc_params
        shape = tuple(p["shape"])
        self._p = {k: np.broadcast_to(np.asarray(p[k]), shape) for k in ("vth", "du", "dv",
                                                                          "bias")}
        self._mode = {k: p[k] for k in ("reset", "reset_delay", "bias_in")}
        self._interval, self._offset = int(p["reset_interval"]), int(p["reset_offset"])
        self._offset %= self._interval
        self._u = np.zeros(shape, self._state_dtype)
        self._v = np.zeros(shape, self._state_dtype)

    def run_spk(self) -> None:
        a = self.a_in.recv()
        r = self.r_in.recv()
        if self.time_step % self._interval == self._offset:
            self._u[...] = 0
            self._v[...] = 0
            r = np.zeros_like(r)
        s = self._step(a, r)
        self.s_out.send(s.astype(self._out_dtype))


@implements(proc=CubaLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyCubaLIFModelFixed(_AbstractCubaLIFModel):
    """Bit-accurate: :func:`ff_neuro.run.lif.loihi_lif_step` in int64."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    r_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    _state_dtype = np.int64
    _out_dtype = np.int32

    def _step(self, a, r):
        from ff_neuro.run.lif import loihi_lif_step
        p = self._p
        return loihi_lif_step(self._u, self._v, a.astype(np.int64) + r.astype(np.int64),
                              vth=p["vth"], v_decay=p["dv"], i_decay=p["du"], bias=p["bias"],
                              **self._mode)


@implements(proc=CubaLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyCubaLIFModelFloat(_AbstractCubaLIFModel):
    """float64: :func:`ff_neuro.run.lif.float_lif_step`, the bias added to the input current
    (or to the membrane of a neuron with current memory and ``bias_in="membrane"``)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    r_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    _state_dtype = np.float64
    _out_dtype = np.float64

    def _step(self, a, r):
        from ff_neuro.run.lif import float_lif_step
        p = self._p
        memory = bool(np.any(p["du"] != 1.0))
        bias_v = p["bias"] if memory and self._mode["bias_in"] == "membrane" else None
        cur = np.asarray(a, np.float64) + (0.0 if bias_v is not None else p["bias"])
        if memory:
            return float_lif_step(self._v, cur, 1.0 - p["dv"], p["vth"], rec=r, i=self._u,
                                  i_keep=1.0 - p["du"], bias_v=bias_v,
                                  reset=self._mode["reset"],
                                  reset_delay=self._mode["reset_delay"])
        return float_lif_step(self._v, cur, 1.0 - p["dv"], p["vth"], rec=r,
                              reset=self._mode["reset"], reset_delay=self._mode["reset_delay"])
