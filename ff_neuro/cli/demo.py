from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config import DemoConfig, FFTrainConfig
from ..fileio import write_json
from ._common import COUNT, SECONDS, SEED, _emit, _log, _out, main, workers_option


@main.command()
@click.option("--epochs", type=COUNT, default=None, help="training epochs [default: 30]")
@click.option("--lava-samples", type=COUNT, default=100, show_default=True,
              help="test samples run on Lava fixed_pt (x10 candidate labels each)")
@click.option("--profile", default="ffgaf-table2", show_default=True,
              help="hardware profile for the energy table (see hardware_profiles/)")
@click.option("--out-dir", type=click.Path(file_okay=False), default="runs/demo",
              show_default=True, help="where model.h5, model.netx.h5 and demo.json go")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--timeout", type=SECONDS, default=600.0, show_default=True,
              help="time limit of the Lava run in seconds")
@workers_option
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def demo(epochs, lava_samples, profile, out_dir, seed, timeout, workers, as_json):
    """Train -> quantize -> export -> Lava -> energy on the embedded 8x8 digits.

    Trains a 2x200 spiking FF MLP (rate-coded input, T = 16, one-hot label appended), quantizes
    it to Loihi fixed point, writes model.h5 and a NetX file, evaluates the float model and the
    fixed-point emulator on the whole test split, runs --lava-samples test samples through Lava
    fixed_pt (Loihi2SimCfg) and compares every spike with the emulator, and prints the
    FFGAF-style energy table from the Lava run's spike counts.
    """
    from ..data import load_digits
    from ..pipeline import run_demo
    log = _log(as_json)
    # fp32 matmuls: the demo's figures are the same on every machine (auto would pick bf16
    # where the CPU has it)
    train = FFTrainConfig(seed=seed, epochs=epochs if epochs is not None else 30,
                          matmul_precision="fp32")
    cfg = DemoConfig(train=train, lava_samples=lava_samples, profile=profile,
                     out_dir=out_dir, lava_timeout_s=timeout, lava_workers=workers)
    _out(Path(out_dir) / "demo.json", "output folder")
    from ..energy import load_profile
    from ..run import available
    load_profile(profile)                    # a bad profile is refused before training
    ok, why = available("lava-fixed")        # and a missing Lava too
    if not ok:
        raise click.ClickException(f"the demo runs Lava fixed_pt, which cannot run here: {why}")
    ds = load_digits()
    result = run_demo(ds, cfg, progress=sys.stderr.isatty(), log=log)
    d = result.to_dict()
    write_json(Path(out_dir) / "demo.json", d)
    _emit(d, as_json, result.format())
