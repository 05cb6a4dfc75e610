#!/usr/bin/env bash
# Reproduces the README's ingest benchmark: veghe on PostgreSQL/TimescaleDB and on
# SQLite, and the Python peer, on the same input through the same Mosquitto, in one run.
# Extra arguments go to `veghe bench ingest` (e.g. --rate 150000 --duration 30s).
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
eval "export $(bash tools/test-deps.sh | tail -1)"
venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q paho-mqtt==2.2.0 'psycopg[binary]==3.3.9'
fi
cargo build --release -q
exec target/release/veghe bench ingest --postgres "$VEGHE_TEST_PG" --peer-python "$venv/bin/python" "$@"
