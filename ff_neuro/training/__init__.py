"""Training: spiking Forward-Forward (layer-local, snnTorch). Hebbian FFA follows."""
from .ff import FFTrainer, ff_loss, quantized_v_decay, random_wrong_labels, train_ff

__all__ = ["FFTrainer", "ff_loss", "quantized_v_decay", "random_wrong_labels", "train_ff"]
