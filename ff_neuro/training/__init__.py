"""Training: spiking Forward-Forward (layer-local, snnTorch). Hebbian FFA follows."""
from .ff import FFTrainer, ff_loss, quantized_v_decay, random_wrong_labels, train_ff
from .hebbian import AnalogFFA, HebbianConfig, HebbianTrainer, train_hebbian  # noqa: F401

__all__ = ["FFTrainer", "ff_loss", "quantized_v_decay", "random_wrong_labels", "train_ff"]
