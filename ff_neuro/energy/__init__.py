"""Analytical energy estimates from cited hardware profiles, and chip fit checks.

``load_profile(name)`` gives a profile's cited constants; its ``model`` selects the accounting:

* ``ffgaf`` (``ffgaf-table2``): FFGAF-SNN Table 2 style. ``ann_mlp_energy`` prices an MLP (one
  weight fetch and one MAC per weight); ``snn_energy`` prices spiking layers from measured spike
  counts (one weight fetch and ``acc_per_synaptic_event`` accumulates per synaptic event).
* ``lemaire`` (``lemaire2022-45nm``): Lemaire et al. 2022, every operation and memory access, the
  access priced by memory size (``lemaire_ann_energy``, ``lemaire_ann_conv_energy``,
  ``lemaire_snn_energy``).
* ``per-event`` (``loihi``, ``loihi2``, ``truenorth``, ``spinnaker2``): per synaptic event,
  neuron update and spike (``per_event_snn_energy``).

``snn_energy`` (and ``ann_mlp_energy``) dispatch on the model, for dense and conv layers alike.
Every model also prices a layer's recurrent synapse (``output_spikes * n_out`` more synaptic
events, ``n_out * n_out`` more weights) and current-based neurons (a second state update per
neuron and step); see ``SpikingLayerActivity``.
``learning_energy`` prices an on-chip learning trial per learned sample (forward pass and the
learning engine's synaptic updates).
``measure_activity`` turns a network's measured run into per-layer activity records
(``NetworkActivity``) that any profile prices; ``ffgaf_table`` regenerates FFGAF Table 2's
reproducible rows; ``fit_check`` counts the cores a network needs on a chip;
``neurobench_metrics`` gives NeuroBench's footprint, sparsities and synaptic operations
(Yik et al. 2025) of a deployed network from the same measured run.
"""

from .estimator import (
    PJ_PER_MJ,
    Conv2dSpec,
    EnergyReport,
    LayerCost,
    SpikingLayerActivity,
    ann_mlp_energy,
    conv_parameter_count,
    fc_parameter_count,
    lemaire_ann_conv_energy,
    lemaire_ann_energy,
    lemaire_snn_energy,
    mlp_parameter_count,
    per_event_snn_energy,
    snn_energy,
)
from .activity import HostWork, NetworkActivity, csnn_row, ffgaf_rows, measure_activity
from .ffgaf import FFGAF_TABLE2, ffgaf_csnn_convs, ffgaf_table, format_ffgaf_table
from .fit import FitReport, LayerFit, fit_check, fit_or_none
from .learning import learning_energy
from .neurobench import FIXED_POINT_BITS, NeuroBenchLayer, NeuroBenchMetrics, neurobench_metrics
from .profiles import (
    KNOWN_CONSTANTS,
    KNOWN_FORMATS,
    KNOWN_LIMITS,
    MODEL_REQUIRED_CONSTANTS,
    MODEL_REQUIRED_FORMATS,
    MODELS,
    OPTIONAL_CONSTANTS,
    REQUIRED_CONSTANTS,
    Citation,
    Constant,
    HardwareProfile,
    ProfileError,
    list_profiles,
    load_profile,
    profile_dir,
)

__all__ = [
    "HostWork",
    "NetworkActivity",
    "csnn_row",
    "ffgaf_rows",
    "measure_activity",
    "PJ_PER_MJ",
    "Conv2dSpec",
    "EnergyReport",
    "LayerCost",
    "SpikingLayerActivity",
    "ann_mlp_energy",
    "conv_parameter_count",
    "fc_parameter_count",
    "lemaire_ann_conv_energy",
    "lemaire_ann_energy",
    "lemaire_snn_energy",
    "mlp_parameter_count",
    "per_event_snn_energy",
    "snn_energy",
    "FFGAF_TABLE2",
    "ffgaf_csnn_convs",
    "ffgaf_table",
    "format_ffgaf_table",
    "FitReport",
    "LayerFit",
    "fit_check",
    "fit_or_none",
    "learning_energy",
    "FIXED_POINT_BITS",
    "NeuroBenchLayer",
    "NeuroBenchMetrics",
    "neurobench_metrics",
    "KNOWN_CONSTANTS",
    "KNOWN_FORMATS",
    "KNOWN_LIMITS",
    "MODEL_REQUIRED_CONSTANTS",
    "MODEL_REQUIRED_FORMATS",
    "MODELS",
    "OPTIONAL_CONSTANTS",
    "REQUIRED_CONSTANTS",
    "Citation",
    "Constant",
    "HardwareProfile",
    "ProfileError",
    "list_profiles",
    "load_profile",
    "profile_dir",
]
