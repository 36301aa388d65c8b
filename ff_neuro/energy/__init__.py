"""Analytical energy estimates (FFGAF Table 2 style) from cited hardware profiles.

``load_profile("ffgaf-table2")`` gives per-operation constants; ``ann_mlp_energy`` prices an MLP
(one weight fetch and one MAC per weight); ``snn_energy`` prices spiking layers from measured
spike counts (one weight fetch and ``acc_per_synaptic_event`` accumulates per synaptic event).
"""

from .estimator import (
    PJ_PER_MJ,
    EnergyReport,
    LayerCost,
    SpikingLayerActivity,
    ann_mlp_energy,
    fc_parameter_count,
    mlp_parameter_count,
    snn_energy,
)
from .profiles import (
    KNOWN_CONSTANTS,
    OPTIONAL_CONSTANTS,
    REQUIRED_CONSTANTS,
    Constant,
    HardwareProfile,
    ProfileError,
    list_profiles,
    load_profile,
    profile_dir,
)

__all__ = [
    "PJ_PER_MJ",
    "EnergyReport",
    "LayerCost",
    "SpikingLayerActivity",
    "ann_mlp_energy",
    "fc_parameter_count",
    "mlp_parameter_count",
    "snn_energy",
    "KNOWN_CONSTANTS",
    "OPTIONAL_CONSTANTS",
    "REQUIRED_CONSTANTS",
    "Constant",
    "HardwareProfile",
    "ProfileError",
    "list_profiles",
    "load_profile",
    "profile_dir",
]
