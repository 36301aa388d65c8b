"""The Lava Processes of on-chip Hebbian learning and their ProcessModels (side-effect-free
modules only: Lava executes every ``.py`` file here when it searches for ProcessModels)."""
