#!/usr/bin/env bash
# Instructions per PPO minibatch update (batch 64) under callgrind: steadier than timings on a
# noisy VM for comparing two versions of autodiff. Start-up cancels out: the difference of a run
# of 130 updates and one of 30, divided by 100. Needs valgrind (apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(python -c 'import sys; print(sys.executable)')
script=$(mktemp --suffix=.py)
trap 'rm -f "$script"' EXIT
cat > "$script" <<'PY'
import sys
sys.path.insert(0, "scripts")
import bench_autodiff as b
update = b.numbarl_update_fn(b.make_batch(64))
for _ in range(int(sys.argv[1])):
    update()
PY
count() { OPENBLAS_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$py" "$script" "$1" 2>&1 | grep -oP "Collected : \K\d+"; }
a=$(count 30); b=$(count 130)
echo "instructions per update: $(( (b - a) / 100 ))"
