#!/usr/bin/env bash
# Reproduces the README's vision benchmark: stage times on 640x360 and 1920x1080 frames
# on 1 and 2 threads, the Frigate-style Python peer on the same frames and model in the
# same run, and the camera count sustained at 1 frame/s. Extra arguments go to
# `veghe bench vision` (e.g. --iterations 100 --scale-max 0).
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
eval "export $(bash tools/test-deps.sh | tail -1)"
cargo build --release -q
exec target/release/veghe bench vision --peer-python "$VEGHE_TEST_PYTHON" "$@"
