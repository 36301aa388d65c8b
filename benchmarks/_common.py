"""Shared helpers of the benchmark scripts: machine description, result writing and the
tuning scripts' validation split."""
from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        commit = ""
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "git_commit": commit,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


N_VAL_HOLDOUT = 5000


def tuning_dataset(npz: str | None = None):
    """Fashion-MNIST with the last 5k training samples as the 'test' (validation) split (the
    protocol of ``hebbian_tune.py`` and ``ff_tune.py``; ``npz``: uint8 x_train / y_train)."""
    import numpy as np
    from ff_neuro.data import load_dataset
    from ff_neuro.data.datasets import Dataset
    if npz:
        z = np.load(npz)
        xtr = z["x_train"].astype(np.float32) / 255.0
        ytr = z["y_train"].astype(np.int64)
    else:
        ds = load_dataset("fashion-mnist")
        xtr, ytr = ds.x_train, ds.y_train
    n = xtr.shape[0] - N_VAL_HOLDOUT
    return Dataset(name="fashion-mnist-tune", x_train=xtr[:n], y_train=ytr[:n],
                   x_test=xtr[n:], y_test=ytr[n:], n_classes=10, image_shape=(28, 28),
                   source="fashion-mnist train split: first 55k tune-train, last 5k validation")
