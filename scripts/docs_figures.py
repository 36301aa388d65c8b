"""The documentation's figures: the PNG files in ``docs/images/`` that the pages show.

One quick deterministic run on the embedded digits (the README's quickstart network: spiking
Forward-Forward, 10 epochs, seed 0, quantized to Loihi fixed point), drawn with ff-neuro's own
plotting functions, plus a committed benchmark figure:

- ``energy_profiles.png`` (Energy profiles): :func:`ff_neuro.energy.render.plot_reports`, the
  plot of ``ff-neuro energy --compare ... --plot``, on four profiles;
- ``fidelity_raster.png`` (Fidelity): the deployment report's spike raster of one test sample on
  float, the emulator, Lava floating_pt and Lava fixed_pt (needs Lava: run with ``.venv``);
- ``quantization.png`` (The pipeline): the deployment report's quantization plot (firing rates
  float vs fixed point, the integer weights);
- ``fidelity_fashion.png`` (Fidelity): ``benchmarks/results/fidelity_fashion.png``, the
  mismatches per layer and step on the full Fashion-MNIST test set
  (``benchmarks/fidelity_fashion.py``), copied;
- ``onchip_fashion.png`` (On-chip learning): ``benchmarks/results/onchip_fashion.png``, the
  learning curves of host and chip on Fashion-MNIST and of a deployed model adapting on the chip
  (``benchmarks/onchip_fashion.py``), copied.

    .venv/bin/python scripts/docs_figures.py        # about a minute on 2 cores
"""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"
ENERGY_PROFILES = ("loihi", "loihi2", "ffgaf-table2", "lemaire2022-45nm")
#: the deployment report's plots shown in the docs: alt text -> file name
REPORT_FIGURES = {"spike raster of one sample": "fidelity_raster.png",
                  "quantization: rates and weights": "quantization.png"}
SEED = 0


def main() -> int:
    import ff_neuro as ffn
    from ff_neuro.deployment_report import build_report
    from ff_neuro.energy.render import plot_reports
    from ff_neuro.fileio import atomic_path
    from ff_neuro.pipeline import quantize_for_dataset
    from ff_neuro.run import available

    for b in ("lava-float", "lava-fixed"):
        ok, why = available(b)
        if not ok:
            print(f"docs_figures: {b} cannot run here ({why}); run this script with the "
                  f"Python 3.10 environment: .venv/bin/python scripts/docs_figures.py",
                  file=sys.stderr)
            return 1
    t0 = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    ds = ffn.load_dataset("digits")
    net = ffn.train(ds, epochs=10, seed=SEED, threads=1)
    qnet, _ = quantize_for_dataset(net, ds)
    print(f"trained and quantized {net.sizes} in {time.perf_counter() - t0:.0f} s")

    reports = {p: ffn.energy_report(qnet, ds, profile=p) for p in ENERGY_PROFILES}
    plot_reports(reports, OUT / "energy_profiles.png",
                 title="The digits network (spiking FF, 10 epochs): energy per inference")
    print("wrote docs/images/energy_profiles.png")

    rep = build_report(qnet, ds, samples=200, lava_samples=10, profiles=("loihi2",),
                       backends=("float", "emulator", "lava-float", "lava-fixed"))
    figures = {alt: png for _, alt, png in rep.figures()}
    for alt, name in REPORT_FIGURES.items():
        with atomic_path(OUT / name) as tmp:
            tmp.write_bytes(figures[alt])
        print(f"wrote docs/images/{name}")

    for name in ("fidelity_fashion.png", "onchip_fashion.png"):
        with atomic_path(OUT / name) as tmp:
            shutil.copyfile(ROOT / "benchmarks" / "results" / name, tmp)
        print(f"wrote docs/images/{name}")
    print(f"{time.perf_counter() - t0:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
