#!/usr/bin/env bash
# The GPU checks of spiking FF and Hebbian FF training, as one run on a lent GPU machine (the
# workplace's `device` tool; set-up as in ffgaf_gpu_run.sh: carry .whl and .data). About 6
# minutes on an H200; the JSON files and the log come back in $OUT.
#
#   bash benchmarks/gpu_check.sh
#
# Prepare here first: .whl/ with the wheels the GPU machine lacks (it has no registry), e.g.
#   .venv-core/bin/python -m pip download --no-deps -d .whl snntorch==1.0.0 PyYAML \
#       --python-version 3.12 --only-binary=:all:
# and .data/fashion-mnist/ with the four IDX files (cp /usr/share/datasets/fashion-mnist/*).
#
# 1. the CUDA tests: the torch LIF loop and the Hebbian torch engine on the GPU against the CPU,
#    a checkpoint moving between GPU and CPU, FFGAF on the GPU;
# 2. FF training samples/s on the GPU against a plain snnTorch loop on the same GPU and against
#    ff-neuro's CPU trainer (fp32), and in bf16;
# 3. Hebbian FF samples/s, the torch engine on the GPU against the numpy engine, K = 1, 64, 512.
set -u
source "$(dirname "$0")/gpu_setup.sh"
python3 -m pytest -q -p no:cacheprovider tests/test_training_options.py tests/test_hebbian.py \
    tests/test_ffgaf.py -k cuda 2>&1 | tail -n 5 | tee "$OUT/gpu_tests.txt"
python3 benchmarks/ff_throughput.py --device cuda --cpu-reference --threads 8 --encoding graded \
    --batches 10 --repeats 3 --precision fp32 --data-dir .data \
    --out "$OUT/ff_throughput_gpu_fp32.json"
python3 benchmarks/ff_throughput.py --device cuda --threads 8 --encoding graded --batches 10 \
    --repeats 3 --precision bf16 --data-dir .data --out "$OUT/ff_throughput_gpu_bf16.json"
python3 benchmarks/hebbian_throughput.py --device cuda --batch-sizes 1 64 512 --samples 4096 \
    --repeats 3 --data-dir .data --out "$OUT/hebbian_throughput_gpu.json"
ls -la "$OUT"
