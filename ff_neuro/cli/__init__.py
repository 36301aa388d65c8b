"""``ff-neuro``: the command line (click), one module per command.

Each command module parses its options, calls the library and prints the library's report: a
human-readable text, or with ``--json`` exactly one JSON object on stdout (logs and progress bars
go to stderr). What the commands share (the group, parameter types, one-line errors) is in
:mod:`ff_neuro.cli._common`.
"""
from ._common import main
from . import (analyze, demo, energy, evaluate, export, import_graph, learn,  # noqa: F401
               merge, parity, quantize, report, train, tune)

__all__ = ["main"]
