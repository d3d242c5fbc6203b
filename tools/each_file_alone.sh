#!/usr/bin/env bash
# Run every test file alone, each in a random order, and report which fail and how long each took.
#
# Why: `make test` runs the whole suite in one process, so a file that only passes because an
# earlier file left a fixture, a cached setting or a table behind goes unnoticed until someone runs
# it alone (or pytest-randomly orders it first). This runs each file in its own pytest process.
#
#   tools/each_file_alone.sh                          # every tests/**/test_*.py
#   tools/each_file_alone.sh --skip tests/browser --skip tests/test_record_survives.py
#   tools/each_file_alone.sh tests/test_audit.py tests/test_policy.py
#   SEED=1234 tools/each_file_alone.sh ...            # one seed for every file (default: random per file)
#
# PYTEST overrides the runner (default .venv/bin/pytest, else pytest on the PATH); PYTEST_ARGS adds
# options. Exit status 1 when any file fails; the summary names each failing file with its seed and
# log, to replay: `pytest -q -p no:cacheprovider -p randomly --randomly-seed=SEED FILE`.
set -u

cd "$(dirname "$0")/.."
if [[ -z "${PYTEST:-}" ]]; then
    if [[ -x .venv/bin/pytest ]]; then PYTEST=.venv/bin/pytest; else PYTEST=pytest; fi
fi

skips=()
files=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --skip) skips+=("${2%/}"); shift 2 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) files+=("$1"); shift ;;
    esac
done
if [[ ${#files[@]} -eq 0 ]]; then
    mapfile -t files < <(find tests -name 'test_*.py' -type f | sort)
fi

selected=()
for f in "${files[@]}"; do
    keep=1
    for s in "${skips[@]+"${skips[@]}"}"; do
        if [[ "$f" == "$s" || "$f" == "$s"/* ]]; then keep=0; fi
    done
    [[ $keep -eq 1 ]] && selected+=("$f")
done

log_dir=$(mktemp -d "${TMPDIR:-/tmp}/each-file-alone.XXXXXX")
failed=()
total_start=$(date +%s)
printf '%-58s %8s %7s  %s\n' "file" "seconds" "result" "seed"
for f in "${selected[@]}"; do
    seed=${SEED:-$((RANDOM * 32768 + RANDOM))}
    log="$log_dir/$(echo "$f" | tr '/' '_').log"
    start=$(date +%s.%N)
    # -p no:cacheprovider: no .pytest_cache carried from one file to the next (e.g. --lf state).
    $PYTEST -q -p no:cacheprovider -p randomly --randomly-seed="$seed" ${PYTEST_ARGS:-} "$f" >"$log" 2>&1
    rc=$?
    end=$(date +%s.%N)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    # 5: no tests collected (a file whose tests are all skipped is still a pass).
    if [[ $rc -eq 0 || $rc -eq 5 ]]; then result=ok; else result=FAIL; failed+=("$f (seed $seed, log $log)"); fi
    printf '%-58s %8s %7s  %s\n' "$f" "$secs" "$result" "$seed"
done
echo "files: ${#selected[@]}, failed: ${#failed[@]}, wall: $(( $(date +%s) - total_start )) s, logs: $log_dir"
if [[ ${#failed[@]} -gt 0 ]]; then
    printf 'FAILED: %s\n' "${failed[@]}"
    exit 1
fi
