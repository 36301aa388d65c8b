#!/usr/bin/env bash
# Install Debian's chromium, the headless browser the tests render the deployment report with
# (tests/test_report.py), when this machine can (root + apt-get). It never fails the build:
# without a chromium binary the browser test skips with the reason.
set -u
for b in chromium chromium-browser; do
    if command -v "$b" >/dev/null 2>&1; then exit 0; fi
done
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ff-neuro: chromium not installed (apt-get install -y chromium as root); the report's browser test will skip" >&2
    exit 0
fi
echo "ff-neuro: installing chromium (Debian package) for the report's browser test"
(apt-get install -y -qq chromium >/dev/null 2>&1) || \
    (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1) || \
    echo "ff-neuro: could not install chromium; the report's browser test will skip" >&2
exit 0
