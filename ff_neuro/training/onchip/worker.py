"""Child process for :func:`ff_neuro.training.onchip.learning.run_lava_learning` (one compile,
several ``run`` chunks, a weight snapshot after each, ``stop()`` always)."""
from __future__ import annotations

import os
import sys
import time
import traceback


def main(request_path: str) -> int:
    from ff_neuro.run.lava.worker import start_worker
    req, write_json = start_worker(request_path)
    result = {"ok": False, "phase": "start"}
    dense = None

    def write() -> None:
        write_json(result)

    try:
        import numpy as np
        from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
        from lava.magma.core.run_conditions import RunSteps
        from lava.magma.core.run_configs import Loihi2SimCfg
        from lava.proc.dense.process import LearningDense

        from ff_neuro.run.lava.procs.process import SpikeFileSource
        from ff_neuro.training.onchip.procs.process import BroadcastFileSource, HebbianLIF
        rule = req["rule"]
        mode = req.get("mode", "floating_pt")
        w0 = np.load(req["w0"])
        n_out, n_in = w0.shape
        W = int(req["window"])
        if mode == "fixed_pt":
            # integer weights; y2/y3 in units of 2^y_exp weight units (see ff_neuro.training.onchip.fixed)
            from ff_neuro.training.onchip.fixed import fixed_rule
            fx = req["fixed"]
            lr = fixed_rule(fx["y_exp"])
            w0 = w0.astype(np.int32)
            extra = {"weight_scale": fx["weight_scale"], "y_exp": fx["y_exp"],
                     "stats_path": fx.get("stats_path")}
        else:
            lr = Loihi3FLearningRule(dw="u0 * x1 * y2 - u0 * x1 * y3", x1_impulse=1.0,
                                     x1_tau=1e-3, t_epoch=1)
            extra = {}
        if req.get("record_dir"):
            extra["record_dir"] = req["record_dir"]
        src = SpikeFileSource(path=req["rows"], shape=(n_in,))
        pol = BroadcastFileSource(path=req["polarity"], shape=(n_out,))
        dense = LearningDense(weights=w0, learning_rule=lr)
        neu = HebbianLIF(shape=(n_out,), learning_rule=lr, reset_interval=W, reset_offset=2,
                         **rule, **extra)
        src.s_out.connect(dense.s_in)
        dense.a_out.connect(neu.a_in)
        pol.s_out.connect(neu.a_third_factor_in)
        neu.s_out_bap.connect(dense.s_in_bap)
        neu.s_out_y1.connect(dense.s_in_y1)
        neu.s_out_y2.connect(dense.s_in_y2)
        neu.s_out_y3.connect(dense.s_in_y3)
        cfg = Loihi2SimCfg(select_tag=mode)
        t = time.perf_counter()
        for i, steps in enumerate(req["chunks"]):
            dense.run(condition=RunSteps(num_steps=int(steps)), run_cfg=cfg)
            np.save(os.path.join(req["out_dir"], f"w_{i}.npy"), dense.weights.get())
        result["run_s"] = time.perf_counter() - t
        result["ok"] = True
    except BaseException as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    finally:
        # Written before stop(): after a failed run stop() can hang (see ff_neuro.run.lava.worker).
        result["phase"] = "stopping"
        write()
        if dense is not None:
            try:
                dense.stop()
            except BaseException:  # pragma: no cover
                pass
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
