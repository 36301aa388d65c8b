"""File writers and readers for deployment (installed as ``ff_neuro.export``): NetX HDF5 for
Lava / Loihi (:mod:`.netx`) and NIR graphs (:mod:`.nir_export`). Running the files is
:mod:`ff_neuro.run`'s job."""


def support_table() -> str:
    """What each importer deploys, as a Markdown table generated from the importers' own data
    (:data:`ff_neuro.model.from_snntorch.SNNTORCH_SUPPORT`, :data:`.nir_export.NIR_SUPPORT`,
    :data:`.netx.NETX_SUPPORT`), so that the docs cannot drift from the code.

    Example::

        >>> from ff_neuro.export import support_table
        >>> print(support_table().splitlines()[0])
        | from | construct | status | how / why |
    """
    from ff_neuro.model.from_snntorch import SNNTORCH_SUPPORT

    from .netx import NETX_SUPPORT
    from .nir_export import NIR_SUPPORT
    rows = ["| from | construct | status | how / why |", "|---|---|---|---|"]
    for source, table in (("snnTorch", SNNTORCH_SUPPORT), ("NIR", NIR_SUPPORT),
                          ("NetX (lava-dl)", NETX_SUPPORT)):
        for construct, status, how in table:
            rows.append(f"| {source} | `{construct}` | {status} | {how} |")
    return "\n".join(rows)
