"""Training: spiking Forward-Forward, the neo-Hebbian FF rule and FFGAF-SNN, behind one
:class:`~ff_neuro.training.trainer.Trainer` protocol (:func:`make_trainer`)."""
from .ff import FFTrainer, ff_loss, quantized_v_decay, random_wrong_labels, train_ff
from .hebbian import AnalogFFA, HebbianConfig, HebbianTrainer, train_hebbian
from .trainer import (ALGORITHMS, Callback, EarlyStopping, LambdaCallback, Trainer,
                      config_class, make_config, make_trainer)

__all__ = ["ALGORITHMS", "AnalogFFA", "Callback", "EarlyStopping", "FFTrainer", "HebbianConfig",
           "HebbianTrainer", "LambdaCallback", "Trainer", "config_class", "ff_loss",
           "make_config", "make_trainer", "quantized_v_decay", "random_wrong_labels",
           "train_ff", "train_hebbian"]
