"""The matmul precision chosen by the hardware: ``auto`` resolves to fp32 where bf16 is not
native (here forced with oneDNN's ``ONEDNN_MAX_CPU_ISA=AVX2``, as on an AVX2 laptop), an
explicit bf16 there warns, and the model file records the choice."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import ff_neuro as ffn
from ff_neuro.training.precision import native_bf16, resolve_precision

PROBE = ("from ff_neuro.training.precision import resolve_precision; import json; "
         "print(json.dumps(resolve_precision('auto')))")


def probe(env_isa=None):
    import os
    env = dict(os.environ)
    env.pop("ONEDNN_MAX_CPU_ISA", None)
    if env_isa:
        env["ONEDNN_MAX_CPU_ISA"] = env_isa
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def test_auto_is_fp32_under_an_avx2_limit():
    choice, why = probe("AVX2")
    assert choice == "fp32" and "ONEDNN_MAX_CPU_ISA=AVX2" in why


def test_auto_follows_the_cpu_flags():
    ok, why = native_bf16("cpu")
    assert probe()[0] == ("bf16" if ok else "fp32")
    flags = open("/proc/cpuinfo").read()
    assert ok == ("avx512_bf16" in flags or "amx_bf16" in flags), why


def test_explicit_bf16_without_native_support_warns(monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    with pytest.warns(UserWarning, match=r"without native bf16.*about 10x slower"):
        assert resolve_precision("bf16")[0] == "bf16"
    with pytest.raises(ValueError, match="unknown matmul_precision 'fp16'"):
        resolve_precision("fp16")


def test_the_model_file_records_the_choice(tmp_path, monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    net = ffn.train(ffn.load_dataset("digits"), epochs=1, hidden=(16,), time_steps=4)
    back = ffn.load(ffn.save(net, tmp_path / "m.h5"))
    assert back.training["config"]["matmul_precision"] == "auto"
    assert back.training["matmul_precision"] == "fp32"
    assert "ONEDNN_MAX_CPU_ISA=AVX2" in back.training["matmul_precision_why"]
