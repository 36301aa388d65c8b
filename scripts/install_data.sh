#!/usr/bin/env bash
# Install the real Fashion-MNIST IDX files from Debian's dataset-fashion-mnist package, when this
# machine can (root + apt-get). Nothing is ever downloaded at run time by ff-neuro itself; tests
# that need Fashion-MNIST skip with a reason when it is absent.
set -u
if [ -d /usr/share/datasets/fashion-mnist ]; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ff-neuro: Fashion-MNIST not installed (apt-get install -y dataset-fashion-mnist as root); tests using it will skip" >&2
    exit 0
fi
echo "ff-neuro: installing dataset-fashion-mnist (Debian package)"
(apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1) || \
    (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1) || \
    echo "ff-neuro: could not install dataset-fashion-mnist; tests using it will skip" >&2
