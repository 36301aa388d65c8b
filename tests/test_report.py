"""The deployment report (``ff-neuro report``, ``ffn.report``): one self-contained HTML page for a
trained FF model and for an imported snnTorch model, its structure checked here and its
rendering in a real headless browser (Debian's ``chromium``, installed by
``scripts/install_browser.sh``; the browser test skips only when no chromium binary exists)."""
from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import ff_neuro as ffn
from ff_neuro.deployment_report import REQUIRED_SECTIONS
from ff_neuro.run import BACKENDS, available, backend_class


def ff(*args, timeout=600):
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)
    return proc


def quick_backends():
    """Every backend except the Lava ones that can run here (those cost a compile each and
    run in the test marked lava); the ones that cannot run stay in, to be listed."""
    return [b for b in BACKENDS if not (available(b)[0] and backend_class(b).supervised)]


def check_page(text: str, sections, images: int) -> None:
    """A complete, self-contained page: every section, PNG images embedded as data URIs, no
    reference to anything outside the file."""
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    for sid in sections:
        assert f'<section id="{sid}">' in text, sid
        assert f'href="#{sid}"' in text, sid
    pngs = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(pngs) >= images
    for p in pngs:
        assert base64.b64decode(p)[:8] == b"\x89PNG\r\n\x1a\n"
    links = re.findall(r'\b(?:src|href)="([^"]*)"', text)
    assert all(u.startswith(("data:image/png;base64,", "#")) for u in links), \
        [u[:40] for u in links if not u.startswith(("data:", "#"))]
    assert "http://" not in text and "https://" not in text and "url(" not in text
    assert "<link" not in text and "<iframe" not in text and "@import" not in text
    assert not re.search(r"<script[^>]*\bsrc=", text)


@pytest.fixture(scope="module")
def ff_files(tmp_path_factory, digits):
    """A small spiking FF model trained on the digits: the float file and the quantized one."""
    from ff_neuro.pipeline import quantize_for_dataset
    d = tmp_path_factory.mktemp("report")
    net = ffn.train(digits, epochs=3, hidden=(40, 40))
    ffn.save(net, d / "m.h5")
    qnet, _ = quantize_for_dataset(net, digits)
    ffn.save(qnet, d / "q.h5")
    return d


@pytest.fixture(scope="module")
def ff_page(ff_files, digits):
    q = ff_files / "q.h5"
    lines = []
    page = ffn.report(ffn.load(q), digits, ff_files / "report.html", samples=60,
                      lava_samples=5, backends=quick_backends(),
                      profiles=("loihi", "ffgaf-table2"), model_path=str(q), log=lines.append)
    return page, lines


def test_report_of_a_trained_ff_model(ff_page, ff_files):
    page, lines = ff_page
    assert page.path == ff_files / "report.html"
    text = page.path.read_text(encoding="utf-8")
    assert text == page.html
    assert tuple(page.section_ids) == REQUIRED_SECTIONS     # no import, no on-chip trial
    check_page(text, REQUIRED_SECTIONS, images=5)
    figs = page.figures()                                   # the plots, as PNG files
    assert len(figs) == text.count("<img ") >= 5
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for _, _, png in figs)
    assert [s for s, _, _ in figs].count("parity") >= 1
    assert ("quantization", "quantization: rates and weights") in [f[:2] for f in figs]
    assert any(line.startswith("parity: running emulator") for line in lines)
    d = json.loads(json.dumps(page.to_dict()))              # the --json summary
    acc = d["accuracy"]["accuracy"]
    assert acc["emulator"]["sweep"]["samples"] == 60 and acc["emulator"]["sweep"]["accuracy"] > 0.3
    assert set(acc) >= {"float", "emulator"}
    # a backend that cannot run here is listed with the reason (loihi2 never can in the tests)
    for b in quick_backends():
        ok, why = available(b)
        if not ok:
            assert d["accuracy"]["unavailable"][b] == why
            assert html.escape(why) in text
    assert d["accuracy"]["unavailable"]["loihi2"]
    pair = d["parity"]["pairs"]["float_vs_emulator"]
    assert d["parity"]["samples"] == 5 and 0.9 < pair["spike_agreement"] <= 1.0
    layers = d["network"]["layers"]
    assert [l["neurons"] for l in layers] == [40, 40]
    assert d["network"]["synapses"] == 74 * 40 + 40 * 40
    assert d["network"]["fit"]["loihi"]["fits_on_one_chip"] is True
    assert d["quantization"]["matches_model"] is True and len(d["quantization"]["layers"]) == 2
    assert d["energy"]["profiles"]["loihi"]["total_pJ"] > 0
    assert d["energy"]["profiles"]["ffgaf-table2"]["runs_per_inference"] == 10
    cmds = "\n".join(d["commands"]["commands"])
    q = str(ff_files / "q.h5")
    for c in (f"ff-neuro evaluate {q} --backend emulator --readout sweep --samples 60",
              f"ff-neuro parity {q} --samples 5 --backends float,emulator",
              f"ff-neuro energy {q} --compare loihi,ffgaf-table2 --samples 60",
              f"ff-neuro report {q} --samples 60 --lava-samples 5"):
        assert c in cmds and html.escape(c) in text


def test_report_cli_quantizes_a_float_model(ff_files):
    m = ff_files / "m.h5"
    proc = ff("report", m, "--samples", "40", "--lava-samples", "4", "--backends",
              "float,emulator", "--profiles", "loihi", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    d = json.loads(proc.stdout)
    out = ff_files / "m.report.html"                       # the default: beside the model
    assert d["path"] == str(out) and out.exists()
    assert d["quantization"]["quantized_by_report"] is True
    assert f"ff-neuro quantize {m} --out {ff_files / 'm.q.h5'}" in d["commands"]["commands"]
    assert "section: energy" in proc.stderr                 # progress on stderr, JSON on stdout
    # wrong input: one line, before any work
    bad = ff("report", m, "--profiles", "loihi,nope", "--out", ff_files / "x.html")
    assert bad.returncode == 1 and bad.stderr.startswith("Error:")
    assert len(bad.stderr.strip().splitlines()) == 1 and not (ff_files / "x.html").exists()


def test_report_of_an_imported_snntorch_model(tmp_path, digits):
    import snntorch as snn
    import torch
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(64, 32), snn.Leaky(beta=0.9, init_hidden=True),
        torch.nn.Linear(32, 10), snn.Leaky(beta=0.9, init_hidden=True))
    net = ffn.from_snntorch(module, input_shape=(64,), time_steps=12, dataset=digits)
    page = ffn.report(net, out=tmp_path / "snn.html", samples=40, lava_samples=4,
                      backends=quick_backends(), profiles=("loihi2",))
    ids = ("network", "accuracy", "parity", "quantization", "energy", "import", "commands")
    assert tuple(page.section_ids) == ids
    text = (tmp_path / "snn.html").read_text(encoding="utf-8")
    check_page(text, ids, images=4)          # no mismatch heat map when all agree
    d = page.to_dict()
    assert d["import"]["imported_from"] == "snntorch"
    imp = text[text.index('<section id="import">'):]
    imp = imp[:imp.index("</section>")]
    assert "snnTorch" in imp and "Sequential" in imp and "reset subtract (one step later)" in imp
    assert [l["reset"] for l in d["network"]["layers"]] == ["subtract", "subtract"]
    assert d["quantization"]["quantized_by_report"] is True
    assert d["accuracy"]["accuracy"]["emulator"]["spike-count"]["samples"] == 40
    # loihi2 states a static power: the chip's static energy joins the dynamic one
    e = d["energy"]["profiles"]["loihi2"]
    assert e["synop_convention"] == "stored" and e["static"]["chips"] == 1
    assert e["static_pJ"] > 0 and e["total_pJ"] == pytest.approx(e["dynamic_pJ"] + e["static_pJ"])
    assert "static (chip)" in text or "Static energy" in text


def test_library_refuses_bad_arguments_before_work(ff_files, digits):
    net = ffn.load(ff_files / "q.h5")
    with pytest.raises(ValueError, match="nope"):
        ffn.report(net, digits, profiles=("nope",))
    with pytest.raises(ValueError, match="unknown backend 'gpu'"):
        ffn.report(net, digits, backends=("gpu",))
    with pytest.raises(ValueError, match="samples"):
        ffn.report(net, digits, samples=10_000)
    with pytest.raises(ValueError, match="ff-neuro learn"):
        ffn.report(net, digits, learning={"mode": "floating_pt"})


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_the_page_renders_in_a_headless_browser(ff_page, tmp_path):
    browser = chromium()
    if browser is None:
        pytest.skip("no chromium binary (scripts/install_browser.sh installs Debian's chromium "
                    "as root)")
    page, _ = ff_page
    url = page.path.resolve().as_uri()
    base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
            "--window-size=1280,2000"]
    shot = tmp_path / "report.png"
    proc = subprocess.run(base + [f"--screenshot={shot}", url], capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert tuple(int.from_bytes(png[o:o + 4], "big") for o in (16, 20)) == (1280, 2000)
    dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True,
                         timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # loaded without errors: no console message at all, and every image decoded
    assert ":CONSOLE" not in dom.stderr, dom.stderr[-2000:]
    assert 'data-images-ok="true"' in dom.stdout
    for sid in REQUIRED_SECTIONS:
        assert re.search(rf'<section id="{sid}">\s*<h2>', dom.stdout), sid
    assert dom.stdout.count("<img ") == page.html.count("<img ")


@pytest.mark.lava
def test_report_with_lava_and_an_onchip_learning_trial(ff_files, digits):
    """Lava fixed_pt beside the emulator (spike for spike equal) and the on-chip learning
    section from a real learning trial on Lava (what ``ff-neuro learn`` runs and saves)."""
    from ff_neuro.fileio import write_json
    from ff_neuro.training.hebbian import HebbianConfig
    from ff_neuro.training.onchip import learning_trial
    trial = learning_trial(digits, 20, eval_samples=20, every=10,
                           cfg=HebbianConfig(hidden=(20,), seed=0), log=lambda msg: None)
    trial["dataset"] = digits.name
    write_json(ff_files / "learn.json", trial)
    q = ff_files / "q.h5"
    page = ffn.report(ffn.load(q), out=ff_files / "lava.html", samples=30, lava_samples=1,
                      backends=("emulator", "lava-fixed"), profiles=("loihi",),
                      learning=ff_files / "learn.json", model_path=str(q))
    d = page.to_dict()
    assert d["sections"] == ["network", "accuracy", "parity", "quantization", "energy",
                             "onchip", "commands"]
    pair = d["parity"]["pairs"]["emulator_vs_lava-fixed"]
    assert pair["total_mismatches"] == 0 and pair["spike_agreement"] == 1.0
    acc = d["accuracy"]["accuracy"]
    assert acc["lava-fixed"]["sweep"]["samples"] == 1
    assert acc["lava-fixed"]["sweep"]["accuracy"] == d["parity"]["accuracy"]["emulator"]
    assert d["onchip"]["samples_learned"] == 20
    text = (ff_files / "lava.html").read_text(encoding="utf-8")
    check_page(text, d["sections"], images=5)      # identical spikes: no mismatch heat map
    assert re.search(r"ff-neuro learn( --on lava)? --mode floating_pt --samples 20 --every 10 "
                     r"--eval-samples 20 --dataset digits", text)
    assert np.isfinite(d["energy"]["profiles"]["loihi"]["total_pJ"])
