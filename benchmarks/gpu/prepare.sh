#!/usr/bin/env bash
# Run here (with registries), before a session's first device call: writes .gpu/ (ignored by git), which
# the device calls carry. The GPU machine reaches no registry and lacks Ray, Optuna and friends, so
# they travel as one archive of unpacked wheels (Ray without its Java jars: a third of its size, never
# used from Python), small enough to travel with CIFAR-10 in one call (a call carries 64 MiB).
#
#   bash benchmarks/gpu/prepare.sh              # for the GPU machine (Python 3.12)
#   PY=3.11 DEST=/tmp/gpu311 bash benchmarks/gpu/prepare.sh   # a rehearsal's, for this machine's Python
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-3.12}
DATA=${DATA:-../shared/data/cifar10-jpg.tar.gz}
DEST=${DEST:-.gpu}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PY" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d "$stage/wheels" $(grep -v '^#' benchmarks/gpu/packages.txt)
mkdir "$stage/site"
# A wheel is a zip of its site-packages files: unpacking one is installing it, less the console scripts.
# unzip, not Python's zipfile, because it keeps the executable bits (Ray's gcs_server and raylet).
for w in "$stage"/wheels/*.whl; do unzip -q -o "$w" -d "$stage/site"; done
rm -rf "$stage/site/ray/jars"
mkdir -p "$DEST"
tar -C "$stage/site" -cf - . | xz -9 -T0 >"$DEST/site.tar.xz"
echo "$PY" >"$DEST/python-version"
if [ -f "$DATA" ]; then install -m 644 "$DATA" "$DEST/cifar10-jpg.tar.gz"; else echo "no $DATA: the device runs will have no CIFAR-10" >&2; fi
du -ch "$DEST"/* | tail -n 1
