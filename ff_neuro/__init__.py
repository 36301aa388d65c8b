"""ff-neuro: Forward-Forward spiking networks from training to neuromorphic hardware."""

__version__ = "0.1.0"
