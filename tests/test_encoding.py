"""Encoding: label embedding and seeded rate coding shared by all backends."""
import numpy as np
import pytest

from ff_neuro.encoding import embed_labels, encode, image_spikes, label_spikes, sweep_inputs
from ff_neuro.model import InputEncoding, LabelEmbedding


def test_append_and_overlay_embedding():
    x = np.full((3, 12), 0.5, dtype=np.float32)
    y = np.array([0, 2, 3])
    app = embed_labels(x, y, LabelEmbedding("append", 4))
    assert app.shape == (3, 16)
    np.testing.assert_array_equal(app[:, 12:], np.eye(4)[y])
    ov = embed_labels(x, y, LabelEmbedding("overlay", 4, amplitude=0.9))
    assert ov.shape == (3, 12)
    np.testing.assert_allclose(ov[:, :4], 0.9 * np.eye(4)[y])
    with pytest.raises(ValueError, match="labels"):
        embed_labels(x, np.array([0, 1, 9]), LabelEmbedding("append", 4))


def test_rate_coding_is_seeded_and_per_sample(digits):
    enc = InputEncoding(time_steps=50, seed=3)
    x = digits.x_test[:40]
    a = image_spikes(x, enc, 7, sample_ids=np.arange(40))
    b = image_spikes(x[:10], enc, 7, sample_ids=np.arange(10))
    np.testing.assert_array_equal(a[:, :10], b)  # independent of batch composition
    c = image_spikes(x, InputEncoding(time_steps=50, seed=4), 7, sample_ids=np.arange(40))
    assert (a != c).any()
    # Firing probability follows the pixel value.
    rate = a.mean(axis=0)
    assert abs(rate[x > 0.9].mean() - x[x > 0.9].mean()) < 0.05
    assert rate[x == 0].max() == 0


def test_label_spikes_regular():
    enc = InputEncoding(time_steps=10, gain=0.5)
    s = label_spikes(np.array([1]), LabelEmbedding("append", 3), enc)
    assert s[:, 0, 1].sum() == 5 and s[:, 0, [0, 2]].sum() == 0


def test_sweep_inputs_differ_only_in_label(digits):
    emb, enc = LabelEmbedding("append", 10), InputEncoding(time_steps=8)
    s = sweep_inputs(digits.x_test[:5], emb, enc, sample_ids=np.arange(5))
    assert s.shape == (8, 5, 10, 74)
    np.testing.assert_array_equal(s[:, :, 0, :64], s[:, :, 7, :64])
    assert (s[:, 2, 7, 64:].sum(axis=0) == 8 * np.eye(10)[7]).all()
    e = encode(digits.x_test[:5], np.full(5, 7), emb, enc, sample_ids=np.arange(5))
    np.testing.assert_array_equal(e, s[:, :, 7])


def test_per_sample_stream_is_uniform_and_independent():
    """The counter-based per-sample generator: Bernoulli rates follow p, draws are uncorrelated
    across inputs, time steps and samples, and a sample's spikes depend only on its id."""
    from ff_neuro.encoding.counter_rng import per_sample_bernoulli, stream_key

    p = np.tile(np.linspace(0.0, 1.0, 11, dtype=np.float32), (300, 20))   # (300, 220)
    s = per_sample_bernoulli(p, 20, stream_key(5, 9), np.arange(300)).astype(np.float64)
    rate = s.mean(axis=(0, 1))
    np.testing.assert_allclose(rate, p[0], atol=0.03)                     # 6000 draws each
    np.testing.assert_allclose(rate.reshape(20, 11).mean(0), p[0, :11], atol=0.006)  # 120k
    assert rate[p[0] == 0].max() == 0 and rate[p[0] == 1].min() == 1
    h = per_sample_bernoulli(np.full((300, 220), 0.5, np.float32), 20, stream_key(5, 9),
                             np.arange(300)).astype(np.float64) - 0.5
    for a, b in ((h[:, :, :-1], h[:, :, 1:]), (h[:-1], h[1:]), (h[:, :-1], h[:, 1:])):
        assert abs(np.mean(a * b)) / 0.25 < 0.01       # correlation ~ 0 (n = 1.3M)
    ids = np.array([7, 3, 11])
    a = per_sample_bernoulli(p[:3], 20, stream_key(5, 9), ids)
    b = per_sample_bernoulli(p[:3][::-1], 20, stream_key(5, 9), ids[::-1])
    np.testing.assert_array_equal(a, b[:, ::-1])
    assert (per_sample_bernoulli(p[:3], 20, stream_key(5, 10), ids) != a).any()
