"""ff-neuro: spiking networks from training to neuromorphic hardware.

The names below load on first use, so ``import ff_neuro`` stays light::

    import ff_neuro as ffn
    ds = ffn.load_dataset("digits")
    net = ffn.train(ds, epochs=10)                         # or from_snntorch / from_nir
    qnet, report = ffn.quantize(net)                       # Loihi fixed point
    print(ffn.evaluate(qnet, ds, backend="emulator"))      # any backend: float, lava-fixed, ...
    print(ffn.parity_report(qnet, ds, backends=("emulator", "lava-fixed")).format())
    print(ffn.energy_report(qnet, ds, profile="loihi2"))          # energy per inference
    ffn.export_to(qnet, "model.netx.h5"); ffn.save(qnet, "model.h5"); ffn.load("model.h5")
"""

__version__ = "0.1.0"

_LAZY = {
    "train": ("ff_neuro.api", "train"),
    "train_members": ("ff_neuro.api", "train_members"),
    "evaluate": ("ff_neuro.api", "evaluate"),
    "parity_report": ("ff_neuro.api", "parity_report"),
    "energy_report": ("ff_neuro.api", "energy_report"),
    "report": ("ff_neuro.api", "report"),
    "export_to": ("ff_neuro.api", "export_to"),
    "load_dataset": ("ff_neuro.api", "load_dataset"),
    "EvaluationReport": ("ff_neuro.api", "EvaluationReport"),
    "load": ("ff_neuro.model", "load_model"),
    "save": ("ff_neuro.model", "save_model"),
    "from_snntorch": ("ff_neuro.model.from_snntorch", "from_snntorch"),
    "ConversionError": ("ff_neuro.model.from_snntorch", "ConversionError"),
    "from_nir": ("ff_neuro.export.nir_export", "from_nir"),
    "from_netx": ("ff_neuro.export.netx", "read_netx"),
    "to_nir": ("ff_neuro.export.nir_export", "to_nir"),
    "write_nir": ("ff_neuro.export.nir_export", "write_nir"),
    "Network": ("ff_neuro.model", "Network"),
    "load_model": ("ff_neuro.model", "load_model"),
    "save_model": ("ff_neuro.model", "save_model"),
    "quantize": ("ff_neuro.quantization", "quantize"),
    "get_backend": ("ff_neuro.run", "get_backend"),
    "infer": ("ff_neuro.run", "infer"),
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib
        mod, attr = _LAZY[name]
        value = getattr(importlib.import_module(mod), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ff_neuro' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
