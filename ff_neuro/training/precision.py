"""The matmul precision of training, chosen by the hardware (``matmul_precision: auto``).

bfloat16 matmuls are several times faster than fp32 where the device computes them natively
(AVX512-BF16 or AMX on a CPU, bf16 tensor cores on a GPU) and many times slower where it does
not: oneDNN then emulates them (on an AVX2 CPU a bf16 FF training step runs about 13x slower
than fp32). ``auto`` picks bf16 only where it is native. On a CPU the probe reads the CPU's
feature flags (``/proc/cpuinfo``: ``avx512_bf16``, ``amx_bf16``) and honours oneDNN's
``ONEDNN_MAX_CPU_ISA`` (or ``DNNL_MAX_CPU_ISA``) limit, which hides instructions from the
matmul library; on a GPU it asks torch (``torch.cuda.is_bf16_supported``).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Tuple

#: The precisions a configuration may name.
PRECISIONS = ("auto", "fp32", "bf16")
#: oneDNN ISA limits (``ONEDNN_MAX_CPU_ISA``) that still include native bf16 instructions.
_BF16_ISAS = ("ALL", "DEFAULT", "AVX512_CORE_BF16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16",
              "AVX10_1_512", "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16")


def _cpu_flags() -> set:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags") and ":" in line:
            return set(line.split(":", 1)[1].split())
    return set()


def native_bf16(device="cpu") -> Tuple[bool, str]:
    """``(True, why)`` where bfloat16 matmuls run natively on ``device``, else ``(False,
    why)``; ``why`` names the feature (or the limit) that decided.

    Example::

        >>> from ff_neuro.training.precision import native_bf16
        >>> ok, why = native_bf16("cpu")      # True on AVX512-BF16 / AMX CPUs
        >>> isinstance(ok, bool) and bool(why)
        True
    """
    import torch
    dev = torch.device(device)
    if dev.type == "cuda":
        ok = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
        return ok, ("the GPU has bf16 support" if ok else "the GPU has no native bf16")
    if dev.type != "cpu":
        return False, f"no bf16 probe for {dev.type} devices"
    limit = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
    if limit and limit.strip().upper() not in _BF16_ISAS:
        return False, f"ONEDNN_MAX_CPU_ISA={limit} hides the CPU's bf16 instructions"
    flags = _cpu_flags()
    found = [f for f in ("amx_bf16", "avx512_bf16") if f in flags]
    if found:
        return True, f"the CPU has {found[0].upper().replace('_', '-')}"
    return False, "the CPU has no AVX512-BF16 or AMX"


def resolve_precision(precision: str, device="cpu", warn: bool = True) -> Tuple[str, str]:
    """``(fp32 | bf16, why)``: ``auto`` becomes bf16 where it is native and fp32 elsewhere;
    an explicit ``bf16`` without native support stays bf16, with a one-line warning naming the
    expected slowdown.

    Example::

        >>> from ff_neuro.training.precision import resolve_precision
        >>> resolve_precision("fp32")
        ('fp32', 'fp32 as configured')
        >>> resolve_precision("auto")[0] in ("fp32", "bf16")
        True
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown matmul_precision {precision!r} ({'|'.join(PRECISIONS)})")
    if precision == "fp32":
        return "fp32", "fp32 as configured"
    ok, why = native_bf16(device)
    if precision == "auto":
        return ("bf16" if ok else "fp32"), f"auto: {why}"
    if not ok and warn:
        warnings.warn(f"matmul_precision=bf16 without native bf16 ({why}): the matmuls are "
                      "emulated, about 10x slower than fp32; use matmul_precision=auto or fp32",
                      UserWarning, stacklevel=3)
    return "bf16", f"bf16 as configured ({why})"
