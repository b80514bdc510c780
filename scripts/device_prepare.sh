#!/usr/bin/env bash
# Run HERE (a machine that reaches PyPI) before a device session: puts what the GPU
# machine lacks into two git-ignored folders that the device tool carries:
#   .whl/   keras, keras-tuner and the pure-Python packages they need that its image
#           has not (wheels for its Python 3.12, x86-64), at the versions of .venv;
#   .data/  the real data sets, copied from $ACTKERAS_DATA_DIR.
# Then on the device: run `bash scripts/device_check.sh` with carry [".whl", ".data"].
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ACTKERAS_DATA_DIR:?set ACTKERAS_DATA_DIR to the folder holding notmnist/ and fashion-mnist/}"
version() { .venv/bin/python -c "import importlib.metadata as m; print(m.version('$1'))"; }
rm -rf .whl .data
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
    "keras==$(version keras)" "keras-tuner==$(version keras-tuner)" \
    "kt-legacy==$(version kt-legacy)" "namex==$(version namex)" "optree==$(version optree)"
mkdir -p .data/notmnist .data/fashion-mnist
cp "$ACTKERAS_DATA_DIR"/notmnist/notMNIST_small.tar.gz .data/notmnist/
cp "$ACTKERAS_DATA_DIR"/fashion-mnist/*-ubyte.gz .data/fashion-mnist/
du -sh .whl .data
