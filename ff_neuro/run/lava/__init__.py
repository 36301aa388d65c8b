"""The Lava runtime: every Lava run in a supervised child process.

* :mod:`.supervisor`: the child process, its time limit, the group kill and the shared-memory
  clean-up (:func:`run_worker`, :class:`LavaRunError`, :class:`LavaTimeoutError`);
* :mod:`.backend`: the reset-window protocol (:func:`run_netx_windows`) and the backends
  ``lava-fixed`` / ``lava-float`` (:class:`LavaBackend`) and ``loihi2`` (:class:`Loihi2Backend`);
* :mod:`.worker`: the child that builds the Lava network and runs it;
* :mod:`.procs`: ff-neuro's own Lava Processes.

Importing this package does not import Lava.
"""
from .backend import (LavaBackend, LavaRunStats, Loihi2Backend, lava_available,
                      run_netx_windows, save_spec)
from .supervisor import LavaRunError, LavaTimeoutError, run_worker

__all__ = ["LavaBackend", "LavaRunError", "LavaRunStats", "LavaTimeoutError", "Loihi2Backend",
           "lava_available", "run_netx_windows", "run_worker", "save_spec"]
