"""numba settings shared by every compiled kernel of ff-neuro (import before defining any).

Threads: numba's "workqueue" layer is fork-safe (Lava and our Lava launcher fork child
processes; GNU OpenMP, numba's other default, is not), so it is chosen unless the user set
``NUMBA_THREADING_LAYER``.
"""
import os

import numba

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"
