"""The whole chain in a few calls: ``import ff_neuro as ffn``.

(``energy_report``, ``parity_report`` and ``export_to`` carry a suffix because ``ff_neuro.energy``,
``ff_neuro.parity`` and ``ff_neuro.export`` are the modules behind them.)

Each function takes plain objects (a :class:`~ff_neuro.data.Dataset` or arrays, a
:class:`~ff_neuro.model.Network`) and returns a network or a report object with ``to_dict()``,
a printed table (``print(report)``) and, where a picture says more, ``plot(path)``. The CLI's
commands are these calls with a parser in front::

    import ff_neuro as ffn

    ds = ffn.load_dataset("digits")
    net = ffn.train(ds, epochs=10)                        # spiking Forward-Forward
    qnet, quant = ffn.quantize(net)                       # Loihi fixed point
    print(ffn.evaluate(qnet, ds, backend="emulator"))     # accuracy on the bit-exact emulator
    print(ffn.energy_report(qnet, ds, profile="loihi2"))         # energy per inference
    ffn.export_to(qnet, "model.netx.h5")                  # NetX HDF5 for Lava
    ffn.save(qnet, "model.h5")
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np

from .model import Network

#: algorithms :func:`train` knows, with their configuration class
ALGORITHMS = ("ff", "hebbian", "ffgaf")


def _xy(data, samples: Optional[int]) -> Tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of the test split of a Dataset, or of an ``(x, y)`` pair; the first
    ``samples``."""
    if isinstance(data, tuple) and len(data) == 2:
        x, y = (np.asarray(a) for a in data)
    elif hasattr(data, "x_test") and hasattr(data, "y_test"):
        x, y = data.x_test, data.y_test
    else:
        raise TypeError(f"expected a Dataset or an (x, y) pair, got {type(data).__name__}")
    if samples is not None:
        from . import checks
        n = checks.samples("samples", samples, len(y), "the data")
        x, y = x[:n], y[:n]
    return x, y


def train(dataset, algo: Optional[str] = None, recipe: Optional[str] = None,
          progress: bool = False, max_minutes: Optional[float] = None,
          checkpoint=None, resume: bool = False, callbacks: Sequence = (),
          device: str = "cpu", threads: Optional[int] = None, **config) -> Network:
    """Train a spiking network on ``dataset`` (a :class:`~ff_neuro.data.Dataset`).

    ``algo``: ``"ff"`` (spiking Forward-Forward, :class:`~ff_neuro.config.FFTrainConfig`),
    ``"hebbian"`` (the neo-Hebbian FF rule, :class:`~ff_neuro.training.hebbian.HebbianConfig`)
    or ``"ffgaf"`` (FFGAF-SNN conv networks,
    :class:`~ff_neuro.training.ffgaf_config.FFGAFConfig`); default: the recipe's, else ``"ff"``.
    ``recipe``: a recipe name or YAML file (:mod:`ff_neuro.recipes`) whose fields ``config``
    overrides. ``config``: fields of that class, checked before training starts (an unknown
    field is a TypeError naming it); the defaults are the class's, the same as
    ``ff-neuro train``'s.

    ``max_minutes`` (a training-time budget), ``checkpoint``/``resume`` and ``callbacks``
    (:class:`~ff_neuro.training.Callback`) are those of the
    :class:`~ff_neuro.training.Trainer` protocol; ``device``/``threads`` where to train.

    Example::

        >>> import ff_neuro as ffn
        >>> net = ffn.train(ffn.load_dataset("digits"), hidden=(32,), epochs=2, time_steps=4)
        >>> net.sizes
        [74, 32]
        >>> net = ffn.train(ffn.load_dataset("digits"), recipe="ffgaf-micro", epochs=1)
        >>> [l.kind for l in net.layers]
        ['conv2d', 'conv2d', 'conv2d']
    """
    from .training.trainer import fit_with_budget, make_config, make_trainer
    if recipe is not None:
        from .recipes import get_recipe
        r = get_recipe(recipe)
        if algo is not None and algo != r.algo:
            raise ValueError(f"recipe {r.name} trains with algo {r.algo!r}, not {algo!r}")
        algo, cfg = r.algo, r.make_config(**config)
    else:
        algo = algo or "ff"
        cfg = make_config(algo, **config)
    tr = make_trainer(algo, dataset, cfg, device=device, threads=threads)
    net, _ = fit_with_budget(tr, max_minutes, progress=progress, checkpoint=checkpoint,
                             resume=resume, callbacks=callbacks)
    return net


def train_members(dataset, n: int = 2, processes: Optional[int] = None,
                  seeds: Optional[Sequence[int]] = None, device: str = "cpu",
                  threads: Optional[int] = None, max_minutes: Optional[float] = None,
                  progress: bool = False, **config) -> Network:
    """Train ``n`` spiking FF networks at once, one process each (seeds ``seed``, ``seed +
    1``, ... unless ``seeds``), and return them merged into one network: an ensemble that
    quantizes, exports and runs like any network. ``config``: fields of
    :class:`~ff_neuro.config.FFTrainConfig`; ``processes`` (default ``n``), ``threads`` (per
    process), ``max_minutes`` (each member's budget): see
    :func:`ff_neuro.training.distributed.train_members`.

    Example::

        >>> import ff_neuro as ffn
        >>> net = ffn.train_members(ffn.load_dataset("digits"), 2, hidden=(32,),
        ...                         epochs=2, time_steps=4)                  # doctest: +SKIP
        >>> net.sizes                                                       # doctest: +SKIP
        [74, 64]
    """
    from .training.distributed import train_members as _train_members
    return _train_members(dataset, n, processes=processes, seeds=seeds, device=device,
                          threads=threads, max_minutes=max_minutes, progress=progress, **config)


@dataclass
class EvaluationReport:
    """Accuracy of a network on one backend, through one readout.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],            # untrained: chance level
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> ds = ffn.load_dataset("digits")
        >>> report = ffn.evaluate(qnet, ds)
        >>> report.backend, report.readout, report.samples, round(report.accuracy, 4)
        ('emulator', 'sweep', 450, 0.1178)
        >>> m = report.confusion()                  # row: true class, column: predicted
        >>> m.shape, int(m.sum()), int(m.trace())
        ((10, 10), 450, 53)
        >>> sorted(report.to_dict())
        ['accuracy', 'backend', 'readout', 'samples', 'seconds']
        >>> report.plot("confusion.png").name
        'confusion.png'
    """

    backend: str
    readout: str
    samples: int
    accuracy: float
    seconds: float
    predictions: np.ndarray
    labels: np.ndarray

    def to_dict(self) -> dict:
        return {"backend": self.backend, "readout": self.readout, "samples": self.samples,
                "accuracy": self.accuracy, "seconds": self.seconds}

    def confusion(self) -> np.ndarray:
        """``(C, C)`` counts: row = true class, column = predicted class."""
        c = int(max(self.labels.max(), self.predictions.max())) + 1
        m = np.zeros((c, c), dtype=np.int64)
        np.add.at(m, (self.labels, self.predictions), 1)
        return m

    def __str__(self) -> str:
        return (f"{self.backend} ({self.readout}): accuracy {self.accuracy:.4f} on "
                f"{self.samples} samples ({self.seconds:.1f} s)")

    def plot(self, path) -> Path:
        """The confusion matrix as a PNG."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        m = self.confusion()
        fig, ax = plt.subplots(figsize=(5, 4.5))
        im = ax.imshow(m, cmap="Blues")
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title(str(self), fontsize=8)
        fig.colorbar(im, ax=ax)
        path = Path(path)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        return path


def evaluate(net: Network, data, backend: str = "emulator", readout: Optional[str] = None,
             samples: Optional[int] = None, timeout_s: float = 600.0,
             workers: Optional[int] = None) -> EvaluationReport:
    """Test accuracy of ``net`` on ``backend`` (a registry name: ``float``, ``emulator``,
    ``lava-float``, ``lava-fixed``) through ``readout`` (default: the network's).

    ``data``: a Dataset (its test split) or an ``(x, y)`` pair; ``samples``: the first N.
    ``workers``: parallel Lava runs (default: half the cores available; the same result).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],            # untrained: chance level
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> ds = ffn.load_dataset("digits")
        >>> print(ffn.evaluate(qnet, ds, backend="emulator"))      # bit-exact Loihi
        emulator (sweep): accuracy 0.1178 on 450 samples (... s)
        >>> print(ffn.evaluate(qnet, (ds.x_test[:100], ds.y_test[:100]), backend="float"))
        float (sweep): accuracy 0.1800 on 100 samples (... s)
        >>> print(ffn.evaluate(qnet, ds, backend="lava-fixed"))    # doctest: +SKIP
        lava-fixed (sweep): accuracy 0.1178 on 450 samples (... s)
    """
    from .run import get_backend, infer
    x, y = _xy(data, samples)
    y = net.check_labels(y, len(x))
    be = get_backend(backend, timeout_s=timeout_s, workers=workers)
    t = time.perf_counter()
    r = infer(be, net, x, readout)
    return EvaluationReport(backend=be.name, readout=r.readout, samples=int(len(y)),
                            accuracy=r.accuracy(y), seconds=time.perf_counter() - t,
                            predictions=np.asarray(r.predictions), labels=np.asarray(y))


def parity_report(net: Network, data, backends: Sequence[str] = ("float", "emulator", "lava-fixed"),
           samples: Optional[int] = 20, readout: Optional[str] = None,
           timeout_s: float = 600.0, workers: Optional[int] = None):
    """Run ``net`` on several backends with identical inputs and compare them spike by spike:
    a :class:`~ff_neuro.parity.ParityReport` (``print(report.format())``, ``to_dict()``,
    ``plot(path)``).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],            # untrained: chance level
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> ds = ffn.load_dataset("digits")
        >>> rep = ffn.parity_report(qnet, ds, backends=("float", "emulator"))
        >>> pair = rep.pairs["float_vs_emulator"]      # the float layers vs their integers
        >>> rep.samples, round(pair.spike_agreement, 4), pair.prediction_agreement
        (20, 0.9976, 1.0)
        >>> rep = ffn.parity_report(qnet, ds,
        ...                         backends=("emulator", "lava-fixed"))   # doctest: +SKIP
        >>> rep.pairs["emulator_vs_lava-fixed"].spike_agreement               # doctest: +SKIP
        1.0
    """
    from .parity import run_parity
    x, y = _xy(data, samples)
    return run_parity(net, x, y, backends=backends, timeout_s=timeout_s, readout=readout,
                      workers=workers)


def energy_report(net: Network, data, profile: str = "loihi2", backend: str = "emulator",
           samples: Optional[int] = None, readout: Optional[str] = None):
    """Energy per inference of the quantized ``net`` on hardware ``profile``, from the spike
    counts of a run on ``backend``: an :class:`~ff_neuro.energy.EnergyReport` (``print`` gives
    the FFGAF-style table, ``to_dict()`` the numbers).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],            # untrained: chance level
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> ds = ffn.load_dataset("digits")
        >>> print(ffn.energy_report(qnet, ds, profile="loihi2", samples=100))
        Energy per inference on profile 'loihi2' (10 runs per inference, included)
        Layer | Params | Memory (mJ) | Compute (mJ) | Total (mJ)
        ------+--------+-------------+--------------+-----------
        lif1  |  1,184 |       0.000 |        0.001 |      0.001
        ------+--------+-------------+--------------+-----------
        Total |  1,184 |       0.000 |        0.001 |      0.001
        Dynamic energy: 0.001 mJ (the table's total)
        Static energy:  2.838 mJ (0.232078 W static power x 1 chip, 1 core by the fit check x 80 steps x 152.845 us per step)
        Total energy:   2.838 mJ
        Note: per-event chip profile: ...
        Note: synaptic events counted as 'stored': ...
        >>> round(ffn.energy_report(qnet, ds, profile="loihi").total_mJ * 1e6, 1)   # in nJ
        719.5
        >>> ffn.energy_report(net, ds)
        Traceback (most recent call last):
        ...
        ValueError: energy is measured on the deployed (quantized) model: ffn.quantize(net) first
    """
    from .energy import load_profile, measure_activity
    from .run import get_backend, infer
    if net.quantized is None:
        raise ValueError("energy is measured on the deployed (quantized) model: "
                         "ffn.quantize(net) first")
    load_profile(profile)                       # a bad profile is refused before running
    x, _ = _xy(data, samples)
    be = get_backend(backend)
    r = infer(be, net, x, readout, keep_counts=True)
    from .energy import fit_or_none                 # the chips whose static power counts
    return measure_activity(net, r, backend=be.name).report(profile,
                                                            fit=fit_or_none(net, profile))


def report(net: Network, data=None, out=None, *, samples: Optional[int] = None,
           lava_samples: int = 20, profiles: Sequence[str] = ("loihi", "loihi2", "ffgaf-table2"),
           backends: Optional[Sequence[str]] = None, timeout_s: float = 600.0, learning=None,
           model_path=None, data_dir=None, title: Optional[str] = None, log=None):
    """The deployment report of ``net``: one self-contained HTML page (plots embedded, no
    network access needed to open it) with the network and its fit on every chip profile, the
    accuracy on every backend through every readout, float / emulator / Lava parity spike by
    spike, the quantization table, the energy per inference on ``profiles``, the import and
    on-chip learning records when there are any, and the commands that reproduce each figure.
    Returns a :class:`~ff_neuro.deployment_report.DeploymentReport` (``html``, ``to_dict()``,
    ``write(path)``); written to ``out`` when given. ``ff-neuro report`` is this call.

    ``data``: a Dataset, a dataset name, or an ``(x, y)`` pair of test samples; None: the
    dataset the model records (digits if none). ``samples``: the first N test samples (default
    200, or the whole split if smaller); the backends that run in a Lava process take the
    first ``lava_samples`` of them (about 1-2 ms per step and sample, plus a compile), and the
    parity runs every backend on those. ``backends``: registry names (default: all of them);
    one that cannot run here is listed with the reason. A float-only ``net`` is quantized
    for the page (default settings, calibrated on the training split). ``learning``: the
    result of ``ff-neuro learn`` (its JSON file or the dict) for the on-chip learning section.
    ``model_path`` names the file in the reproducing commands; ``log`` receives progress lines.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],            # untrained: chance level
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> page = ffn.report(net, ffn.load_dataset("digits"), "report.html", samples=50,
        ...                   backends=("float", "emulator"), profiles=("loihi",))
        >>> page.section_ids
        ['network', 'accuracy', 'parity', 'quantization', 'energy', 'commands']
        >>> page.path.name, page.html.startswith("<!DOCTYPE html>")
        ('report.html', True)
        >>> page = ffn.report(qnet, out="report.html")        # doctest: +SKIP
    """
    from .deployment_report import build_report
    return build_report(net, data, out, samples=samples, lava_samples=lava_samples,
                        profiles=profiles, backends=backends, timeout_s=timeout_s,
                        learning=learning, model_path=model_path, data_dir=data_dir,
                        title=title, log=log)


def export_to(net: Network, path, format: Optional[str] = None, quantized: Optional[bool] = None,
              dt: Optional[float] = None, r_one: bool = False) -> Path:
    """Write ``net`` for deployment (named ``export_to`` because ``ff_neuro.export`` is the
    package of the file writers): ``format="netx"`` (NetX HDF5 for lava-dl; needs a
    quantized network) or ``"nir"`` (a NIR graph; ``quantized``, ``dt``, ``r_one`` as
    :func:`ff_neuro.export.nir_export.to_nir`, whose ``dt`` defaults to 1e-4). The format
    defaults to the suffix: ``.nir`` is NIR, anything else NetX.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],            # untrained: chance level
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> ds = ffn.load_dataset("digits")
        >>> ffn.export_to(qnet, "model.netx.h5").name        # NetX HDF5 (by the suffix)
        'model.netx.h5'
        >>> ffn.export_to(qnet, "model.nir").name            # NIR, the Loihi integers
        'model.nir'
        >>> ffn.export_to(net, "float.nir", dt=1e-3).name    # NIR, the float layers
        'float.nir'
        >>> ffn.export_to(net, "float.netx.h5")
        Traceback (most recent call last):
        ...
        ValueError: NetX export needs a quantized network: ffn.quantize(net) first
    """
    path = Path(path)
    fmt = format or ("nir" if path.suffix == ".nir" else "netx")
    if fmt == "netx":
        if net.quantized is None:
            raise ValueError("NetX export needs a quantized network: ffn.quantize(net) first")
        from .export.netx import write_netx
        return write_netx(net, path)
    if fmt == "nir":
        from .export.nir_export import write_nir
        q = (net.quantized is not None and not r_one) if quantized is None else quantized
        return write_nir(net, path, quantized=q, dt=dt, r_one=r_one)
    raise ValueError(f"unknown export format {fmt!r} (netx|nir)")


def load_dataset(name: str = "digits", data_dir=None, seed: int = 0):
    """A dataset by name: ``"digits"`` (scikit-learn's bundled 8x8 digits), ``"fashion-mnist"``
    (Debian's package, or ``data_dir``), or a folder of MNIST-style IDX files.

    Example::

        >>> ds = ffn.load_dataset("digits")
        >>> ds.n_train, ds.n_test, ds.n_features, ds.n_classes, ds.image_shape
        (1347, 450, 64, 10, (8, 8))
        >>> ds = ffn.load_dataset("fashion-mnist")                      # doctest: +SKIP
    """
    from .data import load_dataset as _load
    return _load(name, data_dir, seed=seed)


__all__ = ["ALGORITHMS", "EvaluationReport", "energy_report", "evaluate", "export_to",
           "load_dataset", "parity_report", "report", "train", "train_members"]
