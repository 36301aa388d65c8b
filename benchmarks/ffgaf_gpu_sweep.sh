#!/usr/bin/env bash
# Several FFGAF-SNN paper-preset variants at once on one lent GPU (the workplace's `device`
# tool; set-up as in ffgaf_gpu_run.sh). Each variant is NAME=OPTIONS (options of
# benchmarks/ffgaf_fashion.py); its checkpoint, model, JSON and log live in runs/sweep/NAME/
# and come back as $OUT/NAME.tar. A variant whose checkpoint is there continues from it.
#
#   bash benchmarks/ffgaf_gpu_sweep.sh SECONDS "shift=--augment shift" "drop=--dropout 0.2"
#
# One process per variant: at batch 128 the paper network leaves the GPU mostly idle between
# kernel launches, so runs side by side share it well.
set -u
budget=${1:?seconds}; shift
source "$(dirname "$0")/gpu_setup.sh"
names=()
for v in "$@"; do
    name=${v%%=*}; opts=${v#*=}; names+=("$name")
    d=runs/sweep/$name; mkdir -p "$d"
    # shellcheck disable=SC2086
    timeout "$budget" python3 benchmarks/ffgaf_fashion.py --preset paper --minutes 0 \
        --epochs 50 --device cuda --compare-minutes 0 --checkpoint "$d/ckpt.h5" --resume \
        --data-dir .data --threads 2 --model "$d/model.h5" --skip-quantized \
        --out "$d/result.json" $opts > "$d/log.txt" 2>&1 &
done
wait
for name in "${names[@]}"; do
    echo "== $name: $(grep -c '^main' runs/sweep/$name/log.txt) epoch lines"
    tail -n 2 "runs/sweep/$name/log.txt" | cut -c1-400
    tar -cf "$OUT/$name.tar" -C runs/sweep "$name"
done
