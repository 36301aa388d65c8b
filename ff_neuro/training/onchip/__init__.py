"""On-chip online learning: the neo-Hebbian Forward-Forward rule of Terres-Escudero et al. run
inside the Lava CPU simulator (``LearningDense`` + ff-neuro's ``HebbianLIF``, which computes the
rule's third factor from its own traces), in floating point or Loihi fixed point, or on its
emulator (:mod:`.emulator`: the same network without Lava, bit-exact in fixed point).

Nothing here is imported by the exporters; Lava is imported only in the worker process.
"""
from .learning import (LearningTrial, OnChipRule, fixed_deviation, learning_trial,
                       quantize_start, reference_learning, reference_learning_fixed,
                       run_lava_learning, trial_config, weights_sha256)


def run_emulated_learning(*args, **kw):
    """:func:`ff_neuro.training.onchip.emulator.run_emulated_learning` (imported on first
    use: it compiles numba kernels)."""
    from .emulator import run_emulated_learning as run
    return run(*args, **kw)


__all__ = ["LearningTrial", "OnChipRule", "fixed_deviation", "learning_trial", "quantize_start",
           "reference_learning", "reference_learning_fixed", "run_emulated_learning",
           "run_lava_learning", "trial_config", "weights_sha256"]
