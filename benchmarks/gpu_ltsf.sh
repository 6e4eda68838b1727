#!/usr/bin/env bash
# The LTSF benchmark's ETTh1 and Weather rows (M, H=96, the configs of configs/benchmarks/, seed 1) under
# KERAS_BACKEND=jax on a lent GPU machine, in one call of the `device` tool (issue 17: time and MSE beside the
# CPU rows of benchmarks/RESULTS.md).
#
# Here, once, from the repository root (needs pip and the shared data):
#     bash benchmarks/gpu_ltsf.sh --prepare ../shared/data
# puts the wheels the device image lacks (Keras, pydantic and their needs, for its Python 3.12) in .whl/ and the
# two data files in .gpu-data/, both ignored through .git/info/exclude. Then one device call:
#     run(command="bash benchmarks/gpu_ltsf.sh", carry=[".whl", ".gpu-data"], timeout_s=590)
# Each data set's last output lines and its benchmark.json come back in $OUT. The image already has JAX with CUDA,
# numpy, pandas, PyYAML, typer, rich, pyarrow and matplotlib (/work/.library/device/KINDS.md).
#
# Options: --prepare DATA_DIR (the step above), --local (run here: no wheels, no $OUT needed; for checking the
# script), --quick (one epoch each), --only NAME (ETTh1 or Weather).
set -euo pipefail

WHEELS=(keras==3.15.1 namex==0.1.0 optree==0.20.0 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0
        typing-inspection==0.4.5 typing-extensions)
PER_DATASET_SECONDS=(ETTh1:220 Weather:330)  # inside one 600 s call, the machine's start not counted

prepare() {
    local data_dir=$1
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
    grep -qx '/.gpu-data/' .git/info/exclude 2>/dev/null || echo '/.gpu-data/' >> .git/info/exclude
    mkdir -p .whl .gpu-data
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "${WHEELS[@]}"
    cp "$data_dir/weather.csv" .gpu-data/
    cp data/ETTh1.csv .gpu-data/
    du -sh .whl .gpu-data
}

local_run=0 quick=() only=""
while [ $# -gt 0 ]; do
    case $1 in
        --prepare) prepare "$2"; exit 0 ;;
        --local) local_run=1 ;;
        --quick) quick=(--set training.epochs=1) ;;
        --only) only=$2; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

if [ "$local_run" = 0 ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
    python=python3
else
    OUT=${OUT:-$(mktemp -d)}
    python=${PYTHON:-.venv/bin/python}
fi
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1

for entry in "${PER_DATASET_SECONDS[@]}"; do
    name=${entry%%:*} seconds=${entry##*:}
    [ -n "$only" ] && [ "$only" != "$name" ] && continue
    echo "== $name (at most $seconds s), load $(cut -d' ' -f1-3 /proc/loadavg)"
    timeout "$seconds" "$python" benchmarks/ltsf.py --dataset "$name" --setting M --horizon 96 --data-dir .gpu-data \
        "${quick[@]}" > "$OUT/$name.log" 2>&1 || echo "$name: exit $? (124: out of time)"
    tail -n 3 "$OUT/$name.log"
    found=$(tail -n 1 "$OUT/$name.log" | sed -n 's/.*| \(runs\/[^ ]*\)$/\1/p')  # the run folder, last on the result line
    if [ -n "$found" ] && [ -f "$found/benchmark.json" ]; then cp "$found/benchmark.json" "$OUT/$name.json"; fi
done
echo "results in $OUT"
