"""The model: one :class:`Network` of layers (a synapse plus a neuron each), its encoder and
readouts, and the one HDF5 model file format that carries it between stages."""
from .encoder import AnalogConvEncoder, InputEncoding, LabelEmbedding
from .io import FORMAT_VERSION, ModelFileError, load_model, save_model
from .layer import Layer
from .network import Network
from .neuron import DECAY_UNITY, LIF, LoihiLIF
from .readout import (ClassGroups, LabelSweep, LinearReadout, MembraneReadout,
                      SpikeCountReadout)
from .synapse import Conv2d, Dense

__all__ = ["AnalogConvEncoder", "ClassGroups", "Conv2d", "DECAY_UNITY", "Dense",
           "FORMAT_VERSION", "InputEncoding", "LIF", "LabelEmbedding", "LabelSweep", "Layer",
           "LinearReadout", "LoihiLIF", "MembraneReadout", "ModelFileError", "Network",
           "SpikeCountReadout", "load_model", "save_model"]
