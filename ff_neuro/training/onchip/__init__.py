"""On-chip online learning: the neo-Hebbian Forward-Forward rule of Terres-Escudero et al. run
inside the Lava CPU simulator (``LearningDense`` + ff-neuro's ``HebbianLIF``, which computes the
rule's third factor from its own traces), in floating point or Loihi fixed point.

Nothing here is imported by the exporters; Lava is imported only in the worker process.
"""
from .learning import (OnChipRule, fixed_deviation, learning_trial, quantize_start,
                       reference_learning, reference_learning_fixed, run_lava_learning)

__all__ = ["OnChipRule", "fixed_deviation", "learning_trial", "quantize_start",
           "reference_learning", "reference_learning_fixed", "run_lava_learning"]
