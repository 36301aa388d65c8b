"""ff-neuro's own Lava Processes (file source, file recorder, a failing process for tests) and
their ProcessModels.

Lava's model discovery executes every ``.py`` file in the directory of a module that defines a
Process, so this package holds only side-effect-free modules: processes in ``process.py``,
their CPU models in ``models.py`` (absolute imports: Lava loads it by path).
"""
