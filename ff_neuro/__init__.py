"""ff-neuro: spiking networks from training to neuromorphic hardware.

The names below load on first use, so ``import ff_neuro`` stays light::

    import ff_neuro as ffn
    net = ffn.from_snntorch(module, input_shape=(64,))     # an snnTorch nn.Sequential
    net = ffn.from_nir(nir.read("model.nir"), dt=1e-4)      # a NIR graph from any framework
    net, report = ffn.quantize(net)                         # Loihi fixed point
    result = ffn.infer(ffn.get_backend("emulator"), net, x) # on any backend
    ffn.save_model(net, "model.h5"); net = ffn.load_model("model.h5")
"""

__version__ = "0.1.0"

_LAZY = {
    "from_snntorch": ("ff_neuro.model.from_snntorch", "from_snntorch"),
    "ConversionError": ("ff_neuro.model.from_snntorch", "ConversionError"),
    "from_nir": ("ff_neuro.export.nir_export", "from_nir"),
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
