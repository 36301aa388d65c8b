"""File writers and readers for deployment (installed as ``ff_neuro.export``): NetX HDF5 for
Lava / Loihi (:mod:`.netx`) and NIR graphs (:mod:`.nir_export`). Running the files is
:mod:`ff_neuro.run`'s job."""
