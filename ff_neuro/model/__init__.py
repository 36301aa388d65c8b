"""Model primitives (NIR-style dataclasses) and the one HDF5 model file format."""
from .primitives import (DECAY_UNITY, FFNetwork, InputEncoding, LabelEmbedding, LinearReadout,
                         QuantizedDense, SpikingDense)
from .hdf5 import FORMAT_VERSION, ModelFileError, load_model, save_model

__all__ = ["DECAY_UNITY", "FFNetwork", "InputEncoding", "LabelEmbedding", "LinearReadout", "QuantizedDense",
           "SpikingDense", "FORMAT_VERSION", "ModelFileError", "load_model", "save_model"]
