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
from ff_neuro.run.lava.procs.process import FailingProcess, SpikeFileRecorder, SpikeFileSource


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
