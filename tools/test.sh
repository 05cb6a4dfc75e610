#!/usr/bin/env bash
# veghe's test command: installs and starts the real dependencies (Mosquitto,
# PostgreSQL + TimescaleDB), then runs every test of the workspace against them.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || {
    echo "test: cargo not found; install Rust (https://rustup.rs) first" >&2
    exit 1
}
eval "export $(bash tools/test-deps.sh | tail -1)"
cargo test --workspace --all-targets "$@"
# The firmware core must build without std.
cargo build -p veghe-firmware --no-default-features
# The CUDA execution provider compiles behind its feature (no GPU needed to build).
cargo check -p veghe-vision --features cuda
