#!/usr/bin/env bash
# The whole GPU check of issue 17, in one call on a lent GPU, every part under its own time limit
# and the whole under BUDGET seconds (default 470), so one hang cannot eat the device time and a
# second run still fits. Everything it prints goes to files under $OUT (default ./gpu_out):
#   summary.txt    machine, versions, and each part's exit status and seconds
#   probe.log      scripts/gpu_probe.py: first/second env step and PPO update, in a cold process
#                  and again with numba's cache warm; host us per launch; 2^24 sum and add
#                  against copy bandwidth (probe.jsonl: the same records as JSON lines)
#   tests.log      NUMBARL_TEST_CUDA=1 pytest tests/cuda
#   bench_gpu.log  scripts/bench_gpu.py (env steps/s against the bytes-moved limit, PPO update
#                  against PyTorch)
#   train.log      rl.train ppo CartPole --num-envs 4096, dqn CartPole, and a PPO population,
#                  all --device cuda, each with its wall time
#
#   scripts/gpu_check.sh wheels          # here, once: the wheels the GPU machine lacks, into .whl/
#   scripts/gpu_check.sh [PART ...]      # there (carry .whl): PARTs of probe tests bench ppo dqn
#                                        # population, all by default
#   scripts/gpu_check.sh --tiny [PART ...]   # here: the same under numba's simulator, tiny sizes
#
# On the device tool: run(command="scripts/gpu_check.sh", carry=[".whl"], timeout_s=540) (its $OUT
# comes back: six files, under its limit of eight). After fixing what failed, name only
# those parts to run them again.
#
# The GPU machine has numba, numba-cuda, numpy, pytest and torch but no gymnasium or tensorboardX,
# and cannot download: `wheels` fetches them for Python 3.12 (the versions installed here).
set -uo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == wheels ]]; then
    versions=$(python3 -c "import importlib.metadata as m
print(' '.join(f'{p}=={m.version(p)}' for p in ('gymnasium', 'farama-notifications', 'tensorboardX', 'crc32c')))")
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl $versions || exit
    grep -qx '/.whl/' "$(git rev-parse --git-common-dir)/info/exclude" 2>/dev/null ||
        echo /.whl/ >>"$(git rev-parse --git-common-dir)/info/exclude"
    echo "wheels in .whl/ ($versions); name .whl in the device call's carry"
    exit 0
fi

TINY=0
if [[ "${1:-}" == --tiny ]]; then
    TINY=1
    shift
    export NUMBA_ENABLE_CUDASIM=1
fi
ALL=(probe tests bench ppo dqn population)
PARTS=("$@")
[[ ${#PARTS[@]} -gt 0 ]] || PARTS=("${ALL[@]}")
for name in "${PARTS[@]}"; do
    if [[ " ${ALL[*]} " != *" $name "* ]]; then
        echo "error: unknown part '$name'; valid: ${ALL[*]} (or 'wheels' alone)" >&2
        exit 2
    fi
done
OUT="${OUT:-$PWD/gpu_out}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
BUDGET="${BUDGET:-470}"
START=$SECONDS
export NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS=0 PYTHONUNBUFFERED=1
# A fresh cache, so that the probe's first process pays the whole compile cost.
export NUMBA_CACHE_DIR="${GPU_CHECK_CACHE:-/tmp/numbarl_gpu_check_cache}"
rm -rf "$NUMBA_CACHE_DIR"
RUNS=/tmp/numbarl_gpu_check_runs
rm -rf "$RUNS"

if ! "$PY" -c "import gymnasium, tensorboardX" 2>/dev/null; then
    if ! ls .whl/*.whl >/dev/null 2>&1; then
        echo "error: gymnasium or tensorboardX is missing and there is no .whl/: run 'scripts/gpu_check.sh wheels' here and carry .whl" >&2
        exit 2
    fi
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

{
    echo "gpu_check.sh $(date -u +%FT%TZ) parts: ${PARTS[*]}$([[ $TINY == 1 ]] && echo ' (tiny, simulator)')"
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 | head -3
    "$PY" - <<'EOF'
import importlib.metadata as m, platform
names = ("numba", "numba-cuda", "llvmlite", "numpy", "gymnasium", "tensorboardX", "torch", "jax", "nvidia-cuda-nvrtc",
         "nvidia-nvjitlink", "cuda-bindings", "cuda-core")
versions = []
for name in names:
    try:
        versions.append(f"{name} {m.version(name)}")
    except m.PackageNotFoundError:
        versions.append(f"{name} -")
print(f"python {platform.python_version()};", ", ".join(versions))
EOF
} >"$OUT/summary.txt" 2>&1

# part NAME LOG LIMIT CMD...: runs CMD under `timeout` (LIMIT seconds, less if the budget is
# nearly spent), appends its output to LOG, and its status and seconds to summary.txt.
part() {
    local name=$1 log=$2 limit=$3
    shift 3
    local left=$((BUDGET - (SECONDS - START)))
    ((limit > left)) && limit=$left
    if ((limit < 10)); then
        echo "$name: skipped, the budget of ${BUDGET} s is spent" | tee -a "$OUT/summary.txt"
        return
    fi
    echo "== $name: $* (limit ${limit} s)" >>"$OUT/$log"
    local t0=$SECONDS
    timeout -k 5 "$limit" "$@" >>"$OUT/$log" 2>&1
    local rc=$?
    local verdict=$([[ $rc == 0 ]] && echo ok || ([[ $rc == 124 || $rc == 137 ]] && echo "TIMED OUT" || echo "FAILED"))
    echo "$name: $verdict (exit $rc) in $((SECONDS - t0)) s" | tee -a "$OUT/summary.txt"
    echo "== $name: exit $rc in $((SECONDS - t0)) s" >>"$OUT/$log"
}

if [[ $TINY == 1 ]]; then
    PROBE=(--tiny)
    TESTS=(tests/cuda/numbarl tests/cuda/envs/test_cuda_arena.py)
    BENCH=(--tiny)
    SMALL=(--total-timesteps 16 --num-envs 2 --num-steps 8 --num-minibatches 2 --update-epochs 1 --hidden-sizes 4 4)
    PPO=("${SMALL[@]}" --eval-episodes 1)
    DQN=(--total-timesteps 24 --learning-starts 8 --train-frequency 8 --gradient-steps 1 --batch-size 4
        --hidden-sizes 4 4 --eval-episodes 0)
    POPULATION=("${SMALL[@]}" --num-seeds 2 --eval-episodes 0)
else
    PROBE=()
    TESTS=(tests/cuda)
    BENCH=(--steps 100 --repeats 100)
    PPO=(--num-envs 4096)
    DQN=()
    POPULATION=(--num-seeds 1024)  # 1,024 agents x 16 sub-envs; their networks are a few MB
fi
GPU=(--device cuda --logdir "$RUNS")

for name in "${PARTS[@]}"; do
    case $name in
    probe)
        part "probe compile, cold cache" probe.log 45 "$PY" scripts/gpu_probe.py "${PROBE[@]}" --json "$OUT/probe.jsonl" compile
        [[ $TINY == 1 ]] || part "probe compile, warm cache" probe.log 30 "$PY" scripts/gpu_probe.py --json "$OUT/probe.jsonl" compile
        part "probe launch and bandwidth" probe.log 45 "$PY" scripts/gpu_probe.py "${PROBE[@]}" --json "$OUT/probe.jsonl" launch bandwidth
        ;;
    tests)
        timeout_flag=()
        "$PY" -c "import pytest_timeout" 2>/dev/null && timeout_flag=(-p pytest_timeout --timeout 60)
        export NUMBARL_TEST_CUDA=1  # tests/conftest.py collects tests/cuda with it
        part tests tests.log 120 "$PY" -m pytest "${TESTS[@]}" -q -ra "${timeout_flag[@]}"
        ;;
    bench) part bench_gpu bench_gpu.log 75 "$PY" scripts/bench_gpu.py --no-training "${BENCH[@]}" ;;
    ppo) part "ppo CartPole" train.log 50 "$PY" -m rl.train ppo CartPole "${GPU[@]}" --run-name ppo "${PPO[@]}" ;;
    dqn) part "dqn CartPole" train.log 50 "$PY" -m rl.train dqn CartPole "${GPU[@]}" --run-name dqn "${DQN[@]}" ;;
    population) part "ppo CartPole population" train.log 55 "$PY" -m rl.train ppo CartPole "${GPU[@]}" \
        --run-name population "${POPULATION[@]}" ;;
    esac
done
echo "total: $((SECONDS - START)) s of a ${BUDGET} s budget; outputs in $OUT" | tee -a "$OUT/summary.txt"
