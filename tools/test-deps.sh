#!/usr/bin/env bash
# Installs and starts what veghe's tests talk to, on Debian (run as root or with sudo):
# Mosquitto, PostgreSQL 15 with TimescaleDB, a C toolchain for the bundled SQLite,
# libjpeg-turbo, the ONNX Runtime library (from PyPI) and a Python venv with onnxruntime
# for the model checks and the vision peer benchmark.
# Idempotent: on a prepared machine it only checks and starts services (a second or so).
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

missing=()
command -v cc >/dev/null || missing+=(build-essential)
command -v pkg-config >/dev/null || missing+=(pkg-config)
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null || missing+=(mosquitto)
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15 postgresql-client-15)
command -v psql >/dev/null || missing+=(postgresql-client-15)
[ -e /usr/include/turbojpeg.h ] || missing+=(libturbojpeg0-dev)
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
# The wall's front-end libraries come from npm at build time; its tests drive Chromium.
command -v npm >/dev/null || missing+=(npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    echo "test-deps: installing ${missing[*]}"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# PostgreSQL 15 up, with TimescaleDB (built from Debian's source package; see the script).
if ! pg_lsclusters 2>/dev/null | grep -q '^15 .* online'; then
    $SUDO pg_ctlcluster --skip-systemctl-redirect 15 main start 2>/dev/null \
        || $SUDO pg_ctlcluster 15 main start
fi
$SUDO bash "$here/install-timescaledb.sh" >/tmp/veghe-install-timescaledb.log 2>&1 || {
    tail -30 /tmp/veghe-install-timescaledb.log >&2
    echo "test-deps: TimescaleDB install failed (full log /tmp/veghe-install-timescaledb.log)" >&2
    exit 1
}

# The tests connect over TCP as postgres; give it a password where trust is not set up.
url=${VEGHE_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres}
if ! psql "$url" -qAtc 'SELECT 1' >/dev/null 2>&1; then
    $SUDO -u postgres psql -qc "ALTER USER postgres PASSWORD 'veghe-test'" >/dev/null
    url=postgres://postgres:veghe-test@127.0.0.1:5432/postgres
    psql "$url" -qAtc 'SELECT 1' >/dev/null
fi
# Databases left by earlier test runs.
psql "$url" -qAt -c "SELECT format('DROP DATABASE %I', datname) FROM pg_database WHERE datname LIKE 'veghe\_test\_%'" \
    | psql "$url" -q >/dev/null 2>&1 || true

# ONNX Runtime for the vision service, and Python onnxruntime to check it against.
ort_lib=$(bash "$here/fetch-onnxruntime.sh")
venv="$here/../target/py-venv"
if ! "$venv/bin/python" -c 'import onnxruntime, numpy, PIL' >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check onnxruntime==1.31.1 numpy pillow >&2
fi
venv=$(cd "$venv" && pwd)
echo "VEGHE_TEST_PG=$url VEGHE_ORT_LIB=$ort_lib VEGHE_TEST_PYTHON=$venv/bin/python"
