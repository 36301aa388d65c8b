"""Training: spiking Forward-Forward, the neo-Hebbian FF rule and FFGAF-SNN, behind one
:class:`~ff_neuro.training.trainer.Trainer` protocol (:func:`make_trainer`).

The names below load on first use, so that the configuration classes (and ``ff-neuro
--help``) do not import torch."""

_LAZY = {
    "FFTrainer": "ff", "ff_loss": "ff", "train_ff": "ff",
    "quantized_v_decay": "common", "random_wrong_labels": "common",
    "AnalogFFA": "hebbian", "HebbianConfig": "hebbian", "HebbianTrainer": "hebbian",
    "train_hebbian": "hebbian",
    "ALGORITHMS": "trainer", "Callback": "trainer", "EarlyStopping": "trainer",
    "LambdaCallback": "trainer", "Trainer": "trainer", "config_class": "trainer",
    "make_config": "trainer", "make_trainer": "trainer",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
