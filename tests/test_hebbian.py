"""Hebbian FFA (seed 003): the rule against hand-computed updates (eq. 5 / 6 / 7 / 8), batching,
the fast online path, label-sweep accuracy of every trace x probability, latent analytics."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ff_neuro.data import Dataset
from ff_neuro.model import LabelEmbedding, LabelSweep, Layer, Network
from ff_neuro.run.inference import label_sweep
from ff_neuro.run import get_backend
from ff_neuro.training.hebbian import (AnalogFFA, HebbianConfig, HebbianTrainer,
                                       eligibility_step, hebbian_update, hoyer_index,
                                       separability_index, trace_step)


def tiny_dataset(n_features: int = 2, n_classes: int = 2) -> Dataset:
    """Overlay embedding on 2 features with 2 classes: the network has exactly 2 inputs."""
    rng = np.random.default_rng(0)
    x = rng.random((4, n_features)).astype(np.float32)
    y = np.arange(4, dtype=np.int64) % n_classes
    return Dataset(name="tiny", x_train=x, y_train=y, x_test=x, y_test=y, n_classes=n_classes,
                   image_shape=(n_features,), source="test")


def tiny_trainer(w: np.ndarray, **kw) -> HebbianTrainer:
    """A trainer on 2 inputs with weights ``w`` (n_out, 2); LIF decay 1/2, threshold 1/2."""
    base = dict(hidden=(w.shape[0],), time_steps=2, update_from_step=1, threshold=0.5, beta=0.5,
                trace="relu", trace_scale=0.5, tau_e=0.0, lr=1.0, label_embedding="overlay")
    base.update(kw)
    tr = HebbianTrainer(HebbianConfig(**base), tiny_dataset())
    assert tr.sizes == [2, w.shape[0]] and tr.v_decay == 0.5
    tr.WT[0][...] = np.asarray(w, np.float32).T
    return tr


def spikes(*steps) -> np.ndarray:
    """(T, 1, n_in) uint8 from per-step input lists."""
    return np.asarray(steps, dtype=np.uint8)[:, None, :]


# -- eq. 5: sigmoid probability ---------------------------------------------------------------
@pytest.mark.parametrize("positive", [1.0, 0.0])
def test_sigmoid_rule_matches_eq5_by_hand(positive):
    w0 = np.array([[1.0, 0.2], [0.3, 0.4]])
    tr = tiny_trainer(w0, probability="sigmoid", theta=0.5, alpha=2.0)
    # t=0, x=[1,0]: v = [1.0, 0.3] -> neuron 0 spikes (reset); ReLU trace l = [0.5, 0]
    # t=1, x=[1,1]: v = [0 + 1.2, 0.15 + 0.7 = 0.85] -> both spike; l = [1.0, 0.5]
    traces = tr.present(spikes([1, 0], [1, 1]), np.array([positive]))
    np.testing.assert_allclose(traces[0], [[1.0, 0.5]])
    G = 1.0 ** 2 + 0.5 ** 2                               # 1.25
    P = 1.0 / (1.0 + math.exp(-2.0 * (G - 0.5)))          # sigmoid(1.5) = 0.8175744762
    M = (1.0 - P) if positive else -P                     # eq. 5, sign by polarity
    l, x = np.array([1.0, 0.5]), np.array([1.0, 1.0])      # update only at t = 1
    expected = w0 + M * np.outer(l, x)                    # tau_e = 0, eta = 1
    np.testing.assert_allclose(tr.WT[0].T, expected, rtol=1e-6, atol=1e-6)
    assert abs(M - (0.1824255238 if positive else -0.8175744762)) < 1e-9
    ref = hebbian_update(x[None], l[None], [positive], "sigmoid", theta=0.5, alpha=2.0)
    np.testing.assert_allclose(ref, M * np.outer(l, x), rtol=1e-12)


# -- eq. 6: symmetric probability -------------------------------------------------------------
@pytest.mark.parametrize("positive,cross", [(1.0, True), (0.0, True), (1.0, False)])
def test_symmetric_rule_matches_eq6_by_hand(positive, cross):
    # neurons 0, 1: positive half; 2, 3: negative half
    w0 = np.array([[1.0, 0.0], [0.0, 0.6], [0.6, 0.0], [0.1, 0.1]])
    tr = tiny_trainer(w0, probability="symmetric", eps=1e-9, cross_term=cross)
    # t=0, x=[1,0]: v = [1, 0, .6, .1] -> n0, n2 spike; t=1, x=[1,1]: v = [1, .6, .6, .25]
    # -> n0, n1, n2 spike; ReLU traces l = [1, .5, 1, 0]
    traces = tr.present(spikes([1, 0], [1, 1]), np.array([positive]))
    l = np.array([1.0, 0.5, 1.0, 0.0])
    np.testing.assert_allclose(traces[0][0], l)
    g_pos, g_neg = 1.0 + 0.25, 1.0
    p_sym = g_pos / (g_pos + g_neg)                        # 5/9
    m = np.zeros(4)
    if positive:   # eq. 6: (1 - P_sym) / G+ on the positive half
        m[:2] = (1 - p_sym) / g_pos                        # 0.35556
        m[2:] = -1.0 / (g_pos + g_neg) if cross else 0.0   # -0.44444
    else:          # roles swapped: P_neg = G- / (G+ + G-)
        m[2:] = (1 - (1 - p_sym)) / g_neg                  # 0.55556
        m[:2] = -1.0 / (g_pos + g_neg)
    expected = w0 + np.outer(m * l, [1.0, 1.0])
    np.testing.assert_allclose(tr.WT[0].T, expected, rtol=1e-5, atol=1e-6)
    ref = hebbian_update(np.ones((1, 2)), l[None], [positive], "symmetric", eps=1e-9,
                         cross_term=cross)
    np.testing.assert_allclose(ref, expected - w0, rtol=1e-6, atol=1e-12)
    if positive and cross:
        np.testing.assert_allclose(expected - w0, [[0.355556] * 2, [0.177778] * 2,
                                                   [-0.444444] * 2, [0, 0]], atol=1e-6)


# -- eq. 7 / 8: eligibility trace --------------------------------------------------------------
@pytest.mark.parametrize("path", ["online-lazy", "dense-batch"])
def test_eligibility_trace_eq7_eq8_by_hand(path):
    w0 = np.array([[1.0, 1.0], [0.0, 0.0]])
    tr = tiny_trainer(w0, probability="sigmoid", theta=0.0, alpha=1.0, time_steps=3,
                      update_from_step=1, tau_e=0.5, lr=0.1)
    X = spikes([1, 0], [1, 0], [0, 1])
    if path == "dense-batch":  # the same sample twice, mean over the batch: the dense path
        X = np.repeat(X, 2, axis=1)
    tr.present(X, np.ones(X.shape[1]))
    # t=0: n0 spikes (v=1), l0 = .5; t=1: v = 1 -> spikes, l0 = 1; n1 silent (l1 = 0)
    P1 = 1 / (1 + math.exp(-1.0))                          # G = 1
    dw1 = np.array([[(1 - P1) * 1.0, 0.0], [0.0, 0.0]])    # x(t=1) = [1, 0]
    e1 = 0.0 + (1 - 0.5) * (dw1 - 0.0)                     # eq. 7
    w1 = w0 + 0.1 * e1                                     # eq. 8
    # t=2, x=[0,1]: v = w1[0,1] = 1 > .5 -> spikes, l0 = 1.5, G = 2.25
    P2 = 1 / (1 + math.exp(-2.25))
    dw2 = np.array([[0.0, (1 - P2) * 1.5], [0.0, 0.0]])
    e2 = e1 + (1 - 0.5) * (dw2 - e1)
    w2 = w1 + 0.1 * e2
    np.testing.assert_allclose(tr.WT[0].T, w2, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(tr.e[0].T, e2, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(w2[0], [1.0201706, 1.0071512], atol=1e-6)
    e, w = eligibility_step(np.zeros((2, 2)), dw1, w0, 0.5, 0.1)
    e, w = eligibility_step(e, dw2, w, 0.5, 0.1)
    np.testing.assert_allclose(w, w2, rtol=1e-12)


@pytest.mark.parametrize("trace", ["li", "relu", "hard_li"])
def test_traces_follow_appendix_a(trace):
    """The vectorised trace of the constant-weight steps equals step-by-step eq. 11-13."""
    tr = HebbianTrainer(HebbianConfig(trace=trace, hidden=(6,), label_embedding="overlay"),
                        tiny_dataset())
    s = (np.random.default_rng(0).random((23, 3, 6)) < 0.3).astype(np.float32)
    s[:, 0, 0] = 0  # a silent neuron
    l0 = np.random.default_rng(1).random((3, 6)).astype(np.float32) * 0.5
    fast = l0.copy()
    tr._advance_trace(fast, s)
    ref = l0.astype(np.float64)
    mu = tr.mu
    for t in range(23):
        prev = ref
        ref = trace_step(prev, s[t], trace, 0.85, mu)
        literal = {"li": mu * s[t] + 0.85 * prev,                       # eq. 11
                   "hard_li": s[t] + 0.85 * (1 - s[t]) * prev,          # eq. 12
                   "relu": mu * s[t] + prev}[trace]                     # eq. 13
        np.testing.assert_allclose(ref, literal, atol=1e-12)
    np.testing.assert_allclose(fast, ref, rtol=1e-5, atol=1e-6)
    stepped = l0.copy()  # the per-step form used inside the update window
    for t in range(23):
        tr._trace(stepped, s[t])
    np.testing.assert_allclose(stepped, ref, rtol=1e-5, atol=1e-6)
    assert mu == pytest.approx({"li": 0.15, "relu": 1 / 23, "hard_li": 1.0}[trace])


def test_eligibility_disabled_is_plain_update():
    tr = tiny_trainer(np.array([[1.0, 0.0]]), probability="sigmoid", theta=0.0, alpha=1.0)
    assert tr.e is None
    tr.present(spikes([1, 0], [1, 1]), np.array([1.0]))
    m = 1 - 1 / (1 + math.exp(-1.0))  # l = 1 after two spikes, G = 1
    np.testing.assert_allclose(tr.WT[0].T, [[1.0 + m, m]], rtol=1e-6)


# -- batching -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_digits():
    from ff_neuro.data import load_digits
    return load_digits().subset(600, 200)


def _batch_vs_individual(ds, K, **kw):
    cfg = HebbianConfig(hidden=(20,), seed=3, **kw)
    tr = HebbianTrainer(cfg, ds)
    w0 = [w.copy() for w in tr.WT]
    rng = np.random.default_rng(5)
    labels = ds.y_train[:K]
    pol = (rng.random(K) < 0.5).astype(float)
    X = tr.inputs(ds.x_train[:K], labels, seed_offset=9)
    tr.present(X, pol)
    batch = tr.WT[0] - w0[0]
    total = np.zeros_like(batch)
    for k in range(K):
        tr.WT = [w.copy() for w in w0]
        if tr.e is not None:
            tr.e = [np.zeros_like(w) for w in w0]
        tr.present(X[:, k:k + 1], pol[k:k + 1])
        total += tr.WT[0] - w0[0]
    assert np.abs(total).max() > 1e-4  # something was learned
    return batch, total


@pytest.mark.parametrize("probability", ["sigmoid", "symmetric"])
def test_batch_equals_sum_of_individual_updates(small_digits, probability):
    # one update event per presentation: the K updates summed and applied once
    batch, total = _batch_vs_individual(small_digits, 6, probability=probability,
                                        update_every="presentation", batch_reduce="sum",
                                        tau_e=0.0, lr=0.5)
    np.testing.assert_allclose(batch, total, rtol=1e-4, atol=1e-5)
    # a one-step window with per-step events (and an eligibility trace starting at zero)
    batch, total = _batch_vs_individual(small_digits, 6, probability=probability,
                                        update_from_step=22, batch_reduce="sum", tau_e=0.5)
    np.testing.assert_allclose(batch, total, rtol=1e-4, atol=1e-5)
    # "mean" (eq. 1's 1/K) is the sum over K
    batch, total = _batch_vs_individual(small_digits, 6, probability=probability,
                                        update_every="presentation", batch_reduce="mean",
                                        tau_e=0.0, lr=0.5)
    np.testing.assert_allclose(batch, total / 6, rtol=1e-4, atol=1e-5)


def test_online_fast_path_equals_dense_path(small_digits):
    """The sparse / lazy-eligibility online path gives the weights of the plain dense one."""
    cfg = HebbianConfig(hidden=(40,), tau_e=0.9, lr=1.0)
    fast, dense = HebbianTrainer(cfg, small_digits), HebbianTrainer(cfg, small_digits)
    dense.sparse_online = False
    rng = np.random.default_rng(1)
    X = fast.inputs(small_digits.x_train[:8], small_digits.y_train[:8], seed_offset=3)
    for k in range(8):
        pol = np.array([float(rng.random() < 0.5)])
        fast.present(X[:, k:k + 1], pol)
        dense.present(X[:, k:k + 1], pol)
    assert np.abs(fast.WT[0] - HebbianTrainer(cfg, small_digits).WT[0]).max() > 1e-3
    np.testing.assert_allclose(fast.WT[0], dense.WT[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fast.e[0], dense.e[0], rtol=1e-4, atol=1e-5)


def test_weight_decay_shrinks_after_every_presentation(small_digits):
    """weight_decay: one presentation gives the undecayed rule's weights times (1 - eta lambda)
    exactly; over an epoch the bulk of the weights stays smaller than without decay."""
    base = dict(hidden=(40,), lr=0.5, gain=0.5)
    plain = HebbianTrainer(HebbianConfig(**base), small_digits)
    decayed = HebbianTrainer(HebbianConfig(weight_decay=0.01, **base), small_digits)
    plain.train_epoch(0, max_samples=1)
    decayed.train_epoch(0, max_samples=1)
    start = HebbianTrainer(HebbianConfig(**base), small_digits).WT[0]
    assert np.abs(plain.WT[0] - start).max() > 1e-3  # the sample did learn
    np.testing.assert_array_equal(decayed.WT[0], plain.WT[0] * np.float32(1 - 0.5 * 0.01))
    plain.train_epoch(1, max_samples=300)
    decayed.train_epoch(1, max_samples=300)
    assert np.abs(decayed.WT[0]).mean() < 0.5 * np.abs(plain.WT[0]).mean()


# -- training end to end --------------------------------------------------------------------
@pytest.mark.parametrize("probability", ["sigmoid", "symmetric"])
@pytest.mark.parametrize("trace", ["li", "relu", "hard_li"])
def test_trains_above_chance_by_label_sweep(small_digits, trace, probability):
    cfg = HebbianConfig(trace=trace, probability=probability, epochs=4,
                        lr=0.1 if probability == "sigmoid" else 1.0)
    tr = HebbianTrainer(cfg, small_digits)
    net = tr.fit(progress=False)
    assert isinstance(net, Network) and net.layers[0].kind == "dense"
    r = label_sweep(get_backend("float"), net, small_digits.x_test)
    assert r.accuracy(small_digits.y_test) > 0.25, (trace, probability)  # chance: 0.1
    h = tr.history
    assert len(h.p_pos) == 4 and h.p_pos[-1] > h.p_neg[-1]
    if trace == "relu" and probability == "sigmoid":
        # ReLU trace with mu = 1/T is count / T: trace goodness == the sweep's sum_sq goodness
        # (training runs in float32, the torch backend in float64: rare threshold flips)
        assert np.mean(tr.predict(small_digits.x_test) == r.predictions) >= 0.97


def test_batched_training_and_network_export(small_digits):
    cfg = HebbianConfig(hidden=(40,), batch_size=10, epochs=2, eval_samples=100)
    tr = HebbianTrainer(cfg, small_digits)
    net = tr.fit(progress=False)
    assert net.training["algorithm"] == "hebbian"
    assert net.training["config"]["batch_size"] == 10
    assert len(net.training["history"]["train_accuracy"]) == 2
    # symmetric: the whole split layer is exported and scored by P_sym of its halves;
    # v_decay on Loihi's 1/4096 grid
    assert net.layers[0].weight.shape == (40, small_digits.n_features + 100)
    assert net.layers[0].neuron.v_decay * 4096 == round(net.layers[0].neuron.v_decay * 4096)
    assert net.readout.goodness == "symmetric" and net.readout.eps == cfg.eps
    assert net.label_embedding.kind == "code"
    np.testing.assert_array_equal(net.layers[0].weight, tr.WT[0].T)
    pos = tr.network(readout="positive")  # argmax G+ over the positive half only
    assert pos.readout.goodness == "sum_sq"
    np.testing.assert_array_equal(pos.layers[0].weight, tr.WT[0].T[:20])
    assert tr.network(readout="all").readout.goodness == "sum_sq"
    with pytest.raises(ValueError, match="readout"):
        tr.network(readout="both")
    import json
    json.dumps(net.training)  # the model file stores it as JSON


def test_symmetric_readout_deploys_what_the_trainer_scores(small_digits, tmp_path):
    """With the ReLU trace (mu = 1/T) a trace is count / T, so the trainer's P_sym scores and
    the deployed network's symmetric goodness agree; the model file keeps the readout; the
    fixed-point emulator runs it too."""
    from ff_neuro.model import load_model, save_model
    from ff_neuro.quantization import quantize
    from ff_neuro.model.readout import symmetric_goodness
    cfg = HebbianConfig(trace="relu", epochs=3)
    tr = HebbianTrainer(cfg, small_digits)
    net = tr.fit(progress=False)
    x, y = small_digits.x_test, small_digits.y_test
    r = label_sweep(get_backend("float"), net, x)
    assert r.scores.shape == (1, len(y), 10) and (r.scores > 0).all()
    assert (r.scores < 1).all()
    assert np.mean(tr.predict(x) == r.predictions) >= 0.97
    pos = label_sweep(get_backend("float"), tr.network(readout="positive"), x)
    assert r.accuracy(y) > 0.4 and not np.array_equal(r.predictions, pos.predictions)
    save_model(net, tmp_path / "h.h5")
    back = load_model(tmp_path / "h.h5")
    assert back.readout.goodness == "symmetric" and back.readout.eps == cfg.eps
    np.testing.assert_array_equal(label_sweep(get_backend("float"), back, x).predictions,
                                  r.predictions)
    qnet, _ = quantize(net)
    q = label_sweep(get_backend("emulator"), qnet, x)
    assert abs(q.accuracy(y) - r.accuracy(y)) < 0.1
    # the formula on a hand example: halves (2, 0) and (1, 1) spikes over T = 2
    g = symmetric_goodness([np.array([[2, 0, 1, 1]])], time_steps=2, eps=0.0)
    np.testing.assert_allclose(g, [[1.0 / 1.5]])
    with pytest.raises(ValueError, match="odd width"):
        Network(layers=[Layer.dense(weight=np.ones((3, 4)), threshold=1.0, v_decay=0.1)],
                label_embedding=LabelEmbedding(), readouts=[LabelSweep(goodness="symmetric")])


def test_multilayer_and_presynaptic_trace(small_digits):
    cfg = HebbianConfig(hidden=(30, 20), probability="sigmoid", lr=0.1, epochs=1,
                        presynaptic="trace")
    tr = HebbianTrainer(cfg, small_digits)
    net = tr.fit(progress=False)
    assert net.sizes == [small_digits.n_features + 100, 30, 20]
    r = label_sweep(get_backend("float"), net, small_digits.x_test[:20])
    assert r.scores.shape == (2, 20, 10)


def test_analog_baseline_learns(small_digits):
    cfg = HebbianConfig(hidden=(40,), batch_size=50, epochs=3)
    m = AnalogFFA(cfg, small_digits).fit()
    assert m.history["loss"][-1] < m.history["loss"][0]
    assert m.accuracy(small_digits.x_test, small_digits.y_test) > 0.3
    lat = m.latents(small_digits.x_test, small_digits.y_test)
    assert lat.shape == (small_digits.n_test, 40)


# -- latent analytics ------------------------------------------------------------------------
def test_hoyer_index():
    assert hoyer_index(np.eye(10)[3]) == pytest.approx(1.0)
    assert hoyer_index(np.full(10, 0.7)) == pytest.approx(0.0, abs=1e-12)
    rows = hoyer_index(np.stack([np.eye(5)[0] * 3, np.ones(5), np.zeros(5)]))
    np.testing.assert_allclose(rows[:2], [1.0, 0.0], atol=1e-12)
    assert np.isnan(rows[2])
    mid = hoyer_index(np.array([1.0, 1.0, 0.0, 0.0]))  # (2 - sqrt 2) / (2 - 1)
    assert mid == pytest.approx(2 - math.sqrt(2))


def test_separability_index():
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0], [100, 0], [0, 100]], float)
    y = np.repeat(np.arange(3), 20)
    f = centers[y] + rng.normal(0, 1, (60, 2))
    assert separability_index(f, y, k=5) == 1.0
    # identical points with alternating labels: half of the neighbours agree at most
    assert separability_index(np.zeros((10, 2)), np.arange(10) % 2, k=5) < 0.7
    y_mixed = rng.integers(0, 3, 60)
    assert separability_index(f, y_mixed) < 0.7


# -- config validation --------------------------------------------------------------------------
@pytest.mark.parametrize("kw,msg", [
    (dict(trace="exp"), "unknown trace"),
    (dict(probability="softmax"), "unknown probability"),
    (dict(update_from_step=23), "update_from_step"),
    (dict(tau_e=1.0), "tau_e"),
    (dict(hidden=(201,)), "even"),
    (dict(threshold=0.0), "threshold"),
    (dict(lr=0.0), "lr"),
    (dict(batch_size=0), "batch_size"),
    (dict(label_embedding="code", code_p=1.5), "code"),
    (dict(beta=1.5), "beta"),
    (dict(weight_decay=-1e-3), "weight_decay"),
    (dict(weight_decay=2.0, lr=1.0), "weight_decay"),
])
def test_config_validation(kw, msg):
    with pytest.raises(ValueError, match=msg):
        HebbianConfig(**kw)


def test_network_quantizes_and_round_trips(small_digits, tmp_path):
    """The exported network goes through quantization, the fixed-point emulator and the model
    file unchanged."""
    from ff_neuro.model import load_model, save_model
    from ff_neuro.quantization import quantize
    tr = HebbianTrainer(HebbianConfig(hidden=(40,), epochs=2), small_digits)
    qnet, _ = quantize(tr.fit(progress=False))
    x = small_digits.x_test[:60]
    float_pred = label_sweep(get_backend("float"), qnet, x).predictions
    fixed_pred = label_sweep(get_backend("emulator"), qnet, x).predictions
    assert np.mean(float_pred == fixed_pred) > 0.8
    path = save_model(qnet, tmp_path / "hebbian.h5")
    back = load_model(path)
    assert back.training["algorithm"] == "hebbian" and back.quantized is not None
    np.testing.assert_array_equal(back.layers[0].weight, qnet.layers[0].weight)


# -- the torch engine: what a GPU runs, checked on the CPU against numpy -----------------------
_TORCH_CONFIGS = {
    "online": dict(hidden=(30,), batch_size=1),
    "batched-2-layers": dict(hidden=(30, 16), batch_size=16, weight_decay=1e-3),
    "sigmoid-relu": dict(hidden=(30,), batch_size=8, probability="sigmoid", trace="relu",
                         lr=0.1, tau_e=0.0),
    "hard-li-input-trace": dict(hidden=(30,), batch_size=8, trace="hard_li",
                                presynaptic="trace"),
    "per-presentation": dict(hidden=(30, 12), batch_size=4, update_every="presentation"),
}


def _torch_devices():
    import torch
    return ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
        not torch.cuda.is_available(), reason="no CUDA GPU: the GPU run of this check needs one"))]


@pytest.mark.parametrize("device", _torch_devices())
@pytest.mark.parametrize("name", list(_TORCH_CONFIGS))
def test_torch_engine_trains_like_numpy(small_digits, name, device):
    """Two epochs with the torch engine give the numpy engine's weights, eligibility traces and
    predictions (float rounding only: the order of the matrix-product sums), and its traces
    on the same input spikes."""
    import torch
    ds = small_digits.subset(200, 60)
    cfg = HebbianConfig(epochs=2, **_TORCH_CONFIGS[name])
    ref = HebbianTrainer(cfg, ds)
    ref.sparse_online = False          # the dense form, which the torch engine computes
    tt = HebbianTrainer(cfg, ds, device=device, engine="torch")
    assert all(isinstance(w, torch.Tensor) and w.device.type == device for w in tt.WT)
    ref.fit(progress=False)
    net = tt.fit(progress=False)
    start = HebbianTrainer(cfg, ds).WT
    assert max(np.abs(w - w0).max() for w, w0 in zip(ref.WT, start)) > 0.05   # it learned
    for a, b in zip(ref.weights_t(), tt.weights_t()):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4)
    if cfg.tau_e > 0:
        for a, b in zip(ref.e, tt.e):
            np.testing.assert_allclose(b.cpu().numpy(), a, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(tt.predict(ds.x_test), ref.predict(ds.x_test))
    X = ref.inputs(ds.x_test[:32], ds.y_test[:32], seed_offset=5)
    for a, b in zip(ref.present(X, learn=False), tt.present(X, learn=False)):
        np.testing.assert_allclose(b, a, atol=1e-5)
    np.testing.assert_array_equal(net.layers[0].weight, tt.weights_t()[0].T)
    assert ref.history.pn_accuracy == pytest.approx(tt.history.pn_accuracy, abs=0.02)


def test_torch_engine_checkpoint_resumes_in_either_engine(small_digits, tmp_path):
    """A torch-engine checkpoint holds numpy arrays: the numpy engine resumes it and ends where
    an uninterrupted run ends."""
    ds = small_digits.subset(200, 60)
    cfg = HebbianConfig(hidden=(30,), batch_size=8, epochs=2)
    whole = HebbianTrainer(cfg, ds, engine="torch")
    whole.fit(progress=False)
    ck = tmp_path / "h.ckpt.h5"
    HebbianTrainer(cfg, ds, engine="torch").fit(progress=False, checkpoint=ck, stop_after=1)
    back = HebbianTrainer(cfg, ds, engine="torch")
    back.load_checkpoint(ck)
    assert back.epochs_done == 1 and back.WT[0].device.type == "cpu"
    resumed = HebbianTrainer(cfg, ds)
    resumed.sparse_online = False
    resumed.fit(progress=False, checkpoint=ck, resume=True)
    assert resumed.epochs_done == 2 and len(resumed.history.p_pos) == 2
    np.testing.assert_allclose(resumed.WT[0], whole.weights_t()[0], rtol=1e-4, atol=1e-4)


def test_engine_and_device_are_checked(small_digits):
    import torch
    cfg = HebbianConfig(hidden=(20,))
    with pytest.raises(ValueError, match="unknown Hebbian engine"):
        HebbianTrainer(cfg, small_digits, engine="jax")
    with pytest.raises(RuntimeError, match="not a torch device"):
        HebbianTrainer(cfg, small_digits, device="gpu0")
    assert HebbianTrainer(cfg, small_digits).engine == "numpy"
    if torch.cuda.is_available():
        assert HebbianTrainer(cfg, small_digits, device="cuda").engine == "torch"
        with pytest.raises(ValueError, match="numpy engine runs on the CPU"):
            HebbianTrainer(cfg, small_digits, device="cuda", engine="numpy")
    else:
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            HebbianTrainer(cfg, small_digits, device="cuda")
