"""``python -m ff_neuro.cli``: the same as the ``ff-neuro`` command."""
from . import main

main()
