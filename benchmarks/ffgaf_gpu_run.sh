#!/usr/bin/env bash
# FFGAF-SNN paper recipe on a lent GPU machine (the workplace's `device` tool), resumable.
#
# That machine has Python 3.12 with torch, numpy, h5py, numba, scikit-learn, tqdm and click,
# but no registry: snnTorch travels as a wheel in .whl/, Fashion-MNIST as the Debian IDX files
# in .data/fashion-mnist/ (both git-excluded; see benchmarks/README.md). Lava is not needed
# there: quantization, Lava and energy run afterwards on the CPU (benchmarks/ffgaf_deploy.py).
#
#   bash benchmarks/ffgaf_gpu_run.sh SECONDS [extra ffgaf_fashion.py options]
#
# trains until the 50-epoch recipe is done or SECONDS pass (checkpoint every epoch in
# runs/ffgaf_paper.ckpt.h5; run again to continue), then copies checkpoint, model and JSON to
# $OUT.
set -u
budget=${1:?seconds}; shift
source "$(dirname "$0")/gpu_setup.sh"
mkdir -p runs
python3 -m pytest --noconftest -q -p no:cacheprovider tests/test_ffgaf.py -k cuda 2>&1 | tail -3
timeout "$budget" python3 benchmarks/ffgaf_fashion.py --preset paper --minutes 0 --epochs 50 \
    --device cuda --compare-minutes 0 --checkpoint runs/ffgaf_paper.ckpt.h5 --resume \
    --data-dir .data --threads 8 --model runs/ffgaf_paper.h5 --skip-quantized \
    --out runs/ffgaf_fashion_gpu.json "$@" 2>&1 | tee runs/ffgaf_gpu.log
echo "exit ${PIPESTATUS[0]}"
cp runs/ffgaf_paper.ckpt.h5 runs/ffgaf_paper.h5 runs/ffgaf_fashion_gpu.json runs/ffgaf_gpu.log \
    "$OUT"/ 2>/dev/null
ls -la "$OUT"
