"""Real Lava runs (Loihi2SimCfg, fixed_pt): NetX files load, the emulator is spike-exact, and a
failing ProcessModel ends with a clear error within the time limit, leaving no processes."""
import os
import time

import h5py
import numpy as np
import psutil
import pytest

from ff_neuro.export.netx import write_netx
from ff_neuro.quantization import quantize
from ff_neuro.run import available, get_backend
from ff_neuro.run.lava import LavaRunError, run_netx_windows

from conftest import random_net, random_spikes


#: every test here runs Lava (deselected in the Lava-free tier)
pytestmark = pytest.mark.lava

def processes_in_group(pgid):
    """Live processes of the Lava run's process group (other runs may be going on)."""
    out = []
    for p in psutil.process_iter():
        try:
            if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except (psutil.Error, ProcessLookupError):
            pass
    return out


def test_netx_file_loads_in_lava(tmp_path):
    from lava.lib.dl import netx
    qnet, _ = quantize(random_net(bias=True, sizes=(12, 9, 5)))
    path = write_netx(qnet, tmp_path / "n.h5")
    with h5py.File(path, "r") as f:
        assert len(f.attrs) == 0  # NetX reads datasets only
        assert f["layer/1/neuron/vThMant"][()] == qnet.quantized[0].neuron.vth
        assert f["layer/1/neuron/vThMant"].dtype.kind == "i"
    net = netx.hdf5.Network(net_config=str(path))
    assert len(net.layers) == 2
    assert net.inp.shape == (12,) and net.out.shape == (5,)
    w = net.layers[0].synapse.weights.init
    np.testing.assert_array_equal(w, qnet.quantized[0].weight)
    assert net.layers[1].neuron.vth.init == qnet.quantized[1].neuron.vth
    del net  # netx keeps the file open while the object lives


@pytest.mark.parametrize("case", [
    dict(seed=0, sizes=(20, 16, 8), v_decay=410 / 4096, bias=False, T=8, B=40),
    dict(seed=1, sizes=(30, 24, 12, 6), v_decay=0.0, bias=True, T=12, B=25),
    dict(seed=2, sizes=(64, 32), v_decay=0.5, bias=True, T=20, B=20, w_std=1.5),
])
def test_emulator_spike_exact_with_lava(case):
    net = random_net(seed=case["seed"], sizes=case["sizes"], v_decay=case["v_decay"],
                     bias=case["bias"], w_std=case.get("w_std", 0.5))
    qnet, _ = quantize(net)
    x = random_spikes(case["seed"], case["T"], case["B"], case["sizes"][0])
    emu = get_backend("emulator").run(qnet, x).spikes
    lava = get_backend("lava-fixed", timeout_s=120, workers=1)
    got = lava.run(qnet, x).spikes
    for k, (a, b) in enumerate(zip(emu, got)):
        assert a.sum() > 0, f"layer {k} silent: the test would prove nothing"
        mism = np.argwhere(a != b)
        assert mism.size == 0, f"layer {k}: first mismatch (t, sample, neuron) {mism[0]}"
    assert lava.stats.compiles == 1 and lava.stats.n_steps == case["T"] * case["B"] + len(case["sizes"]) - 1


def test_workers_split_the_samples_and_give_the_same_spikes():
    """Two supervised Lava runs at once, each on half of the samples: the spikes of one run, in
    the same order."""
    qnet, _ = quantize(random_net(seed=3, sizes=(20, 16, 8), bias=True))
    x = random_spikes(3, 10, 30, 20)
    one, two = (get_backend("lava-fixed", timeout_s=120, workers=w) for w in (1, 2))
    a, b = one.run(qnet, x).spikes, two.run(qnet, x).spikes
    for k, (u, v) in enumerate(zip(a, b)):
        assert u.sum() > 0
        np.testing.assert_array_equal(u, v, err_msg=f"layer {k}")
    assert (one.stats.compiles, two.stats.compiles) == (1, 2)
    assert two.stats.runs == one.stats.runs == 30


def test_failing_process_model_gives_clear_error_fast(tmp_path):
    qnet, _ = quantize(random_net())
    path = write_netx(qnet, tmp_path / "n.h5")
    x = random_spikes(0, 8, 10, 20).transpose(1, 0, 2)
    t0 = time.monotonic()
    with pytest.raises(LavaRunError, match="FailingProcess raised on purpose at step 3") as ei:
        run_netx_windows(str(path), x, [16, 8], timeout_s=60, inject_failure_at=3,
                         stop_grace_s=5)
    assert time.monotonic() - t0 < 60
    assert "\n" not in str(ei.value) and "details:" in str(ei.value)   # one line
    # the child's traceback is in the details and the log file the message names
    assert "lava/procs/models.py" in ei.value.details
    assert "lava/procs/models.py" in ei.value.log_path.read_text()
    time.sleep(0.5)
    assert ei.value.pgid and processes_in_group(ei.value.pgid) == []  # nothing outlives the run


def test_time_limit_kills_the_run(tmp_path):
    qnet, _ = quantize(random_net())
    path = write_netx(qnet, tmp_path / "n.h5")
    x = random_spikes(0, 8, 4000, 20).transpose(1, 0, 2)  # ~32k steps: far beyond 8 s
    t0 = time.monotonic()
    with pytest.raises(LavaRunError, match="did not finish within 8 s") as ei:
        run_netx_windows(str(path), x, [16, 8], timeout_s=8)
    assert time.monotonic() - t0 < 20
    time.sleep(0.5)
    assert ei.value.pgid and processes_in_group(ei.value.pgid) == []


def test_backend_registry_one_vocabulary():
    """Every backend by one name (older spellings as aliases); available() says why not."""
    from ff_neuro.run import BACKENDS, canonical
    assert BACKENDS == ("float", "emulator", "lava-float", "lava-fixed", "loihi2")
    assert [canonical(a) for a in ("torch", "lava_fixed_pt", "lava_floating_pt", "loihi2-hw")] \
        == ["float", "lava-fixed", "lava-float", "loihi2"]
    for name in ("float", "emulator", "lava-float", "lava-fixed"):
        assert available(name) == (True, "")
        assert get_backend(name).name == name
    ok, why = available("loihi2")
    assert not ok and "lava-loihi" in why and "lava-fixed" in why
    from ff_neuro.run import BackendUnavailable
    with pytest.raises(BackendUnavailable, match="lava-loihi"):
        get_backend("loihi2").run(quantize(random_net())[0], random_spikes(0, 8, 2, 20))
    with pytest.raises(ValueError, match="unknown backend 'lava'"):
        get_backend("lava")
