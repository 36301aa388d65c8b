"""Run: backends that execute a network (float torch, fixed-point emulator; Lava lives in
``ff_neuro.export``) and the FF label-sweep inference built on them."""
from .backend import Backend, LayerSpikes
from .inference import (SweepResult, goodness, label_sweep, predict_from_goodness,
                        symmetric_goodness)

__all__ = ["Backend", "LayerSpikes", "SweepResult", "goodness", "label_sweep",
           "predict_from_goodness", "symmetric_goodness"]
