"""Hardware energy profiles (YAML), installed as ``ff_neuro.hardware_profiles``.

Each ``*.yaml`` file here is one profile; its stem is the name accepted by
``ff_neuro.energy.load_profile``. The schema is documented and validated in
``ff_neuro/energy/profiles.py``.
"""

from pathlib import Path

PROFILE_DIR = Path(__file__).parent
