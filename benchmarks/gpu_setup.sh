# Sourced by the ffgaf_gpu_*.sh scripts on a lent GPU machine: installs snnTorch (a wheel in
# .whl/) and ff-neuro itself into /tmp/site without a registry, and prints the GPU.
# ff-neuro declares Python 3.10 for Lava; training needs no Lava, hence --ignore-requires-python.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
    .whl/*.whl || exit 1
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile \
    --ignore-requires-python --no-cache-dir --target /tmp/site . || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
