#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library veghe's vision service loads at run time,
# from the onnxruntime wheel on PyPI (no build, no other download), into
# vendor/onnxruntime/. Prints the library's path. Idempotent.
#   tools/fetch-onnxruntime.sh            CPU library
#   ORT_PACKAGE=onnxruntime-gpu tools/fetch-onnxruntime.sh   CUDA build
set -Eeuo pipefail
cd "$(dirname "$0")/.."
version=${ORT_VERSION:-1.31.1}
package=${ORT_PACKAGE:-onnxruntime}
dest=vendor/onnxruntime
lib="$dest/libonnxruntime.so.$version"
if [ -f "$lib" ]; then
    echo "$PWD/$lib"
    exit 0
fi
command -v python3 >/dev/null || { echo "fetch-onnxruntime: python3 (with pip) is needed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: "$package==$version" -d "$tmp" >&2
wheel=$(ls "$tmp"/*.whl)
mkdir -p "$dest"
python3 - "$wheel" "$dest" "$version" <<'PY'
import sys, zipfile, os
wheel, dest, version = sys.argv[1:]
name = f"libonnxruntime.so.{version}"
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.namelist() if m.startswith("onnxruntime/capi/") and "libonnxruntime" in m]
    for m in members:
        target = os.path.join(dest, os.path.basename(m))
        with z.open(m) as src, open(target + ".part", "wb") as out:
            out.write(src.read())
        os.replace(target + ".part", target)
    if not os.path.exists(os.path.join(dest, name)):
        sys.exit(f"fetch-onnxruntime: {name} not in {wheel}")
PY
echo "$PWD/$lib"
