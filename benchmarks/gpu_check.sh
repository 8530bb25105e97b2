#!/usr/bin/env bash
# One prepared GPU check (for a lent GPU machine, see the device tool): every CUDA test, the GPU
# augmentation benchmark and the audit / TorchSMOTE profile, with --no-write, in at most 8 minutes, then one
# summary. Run from the repo root:
#   bash benchmarks/gpu_check.sh          # on the GPU machine (carry .whl: the packages its python lacks)
#   bash benchmarks/gpu_check.sh --dry    # here, without a GPU: the same steps on the CPU, to check the script
# .whl holds wheels for what the device image lacks (cleanlab, imbalanced-learn, albumentations and their
# dependencies, kornia, and pytest-xdist / execnet / hypothesis / sortedcontainers for the tests' -n 4), fetched
# with `pip download --no-deps --only-binary=:all: --python-version 3.12 -d .whl NAME`.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1 && [ "${1:-}" != "--dry" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || { echo "wheel install failed"; exit 2; }
    export PYTHONPATH="/tmp/site:$PWD/src"
    PY=python3
else
    PY=${PY:-.venv/bin/python}
    export PYTHONPATH="$PWD/src"
fi
export PYTHONUNBUFFERED=1
"$PY" -c "import torch, datafix; print('torch', torch.__version__, '| CUDA', torch.cuda.is_available(), '|',
torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU', '| datafix', datafix.__version__)"
python3 -c "import triton; print('triton', triton.__version__)" 2>/dev/null || true
status=0
# the CUDA tests (the gpu marker): the fused kernel against the torch path, CUDA-graph replay, every op's
# CPU-vs-CUDA conformance
timeout "${TESTS_S:-180}" "$PY" -m pytest -q -p no:cacheprovider -m gpu -n 4 tests 2>&1 | tee "$OUT/tests.log" | tail -15 \
    || status=1
if [ "${1:-}" != "--dry" ]; then
    timeout "${AUGMENT_S:-150}" "$PY" benchmarks/augment.py --device cuda --repeats 3 --no-write 2>&1 \
        | tee "$OUT/augment.log" || status=1
    # issue 20 items 4 and 5: where the 1M-row audit's and TorchSMOTE's time goes on the GPU
    (cd benchmarks && timeout "${PROFILE_S:-150}" "$PY" gpu_profile.py 2>&1) | tee "$OUT/profile.log" || status=1
    # issue 20 item 3: JPEG folder to augmented batches, nvJPEG on the device vs PIL in workers vs torchvision
    timeout "${DECODE_S:-120}" "$PY" benchmarks/decode_loader.py --device cuda --n 2000 --workers 8 --repeats 2 2>&1 \
        | tee "$OUT/decode.log" || status=1
fi
# the CNN-signals audit on 20,000 real images, when Fashion-MNIST travels (a folder .fmnist with its IDX files)
if [ -d .fmnist ]; then
    timeout 300 "$PY" benchmarks/cnn_signals.py --root .fmnist --n "${CNN_N:-20000}" 2>&1 | tee "$OUT/cnn.log" || status=1
    # issue 17's label benchmark at 25 % noise (both noise types), with FMNIST_LABELS=1 (about 3 more minutes)
    if [ "${FMNIST_LABELS:-0}" = 1 ]; then
        timeout 420 "$PY" benchmarks/fmnist_label_issues.py --root .fmnist --n "${CNN_N:-20000}" --seeds 0 --rates 0.25 \
            2>&1 | tee "$OUT/fmnist_labels.log" || status=1
    fi
fi
echo "== summary =="
grep -E "passed|failed|skipped|error" "$OUT/tests.log" | tail -1
[ -f "$OUT/augment.log" ] && grep -E "img/s|x$" "$OUT/augment.log"
[ -f "$OUT/profile.log" ] && grep -E "^SMOTE|^audit" "$OUT/profile.log"
[ -f "$OUT/decode.log" ] && grep -E "img/s" "$OUT/decode.log"
[ -f "$OUT/cnn.log" ] && grep "model='cnn'" "$OUT/cnn.log"
[ -f "$OUT/fmnist_labels.log" ] && grep -E "seed 0:|mean F1 diff" "$OUT/fmnist_labels.log"
exit $status
