#!/usr/bin/env bash
# Wall times of the main actions on the local emulator, with real hosts (as root): what an
# operator waits for. Prints one line per action: the median and the range over its runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/emulator.sh
[[ $real_hosts == yes ]] || { echo "bench: $real_hosts" >&2; exit 2; }

# time_runs LABEL N ARGS...: run `manage ARGS` N times, print median/min/max seconds.
time_runs() {
  local label=$1 n=$2; shift 2
  local times=()
  for _ in $(seq "$n"); do
    local t0=$(date +%s.%N)
    "$manage" "$@" >/dev/null 2>bench-step.log || { echo "bench: manage $* failed:" >&2; cat bench-step.log >&2; exit 1; }
    times+=("$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { print a - b }')")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" -v n="$n" '
    { t[NR] = $1 } END { printf "%-40s %7.2fs  (min %.2f, max %.2f, %d runs)\n", label, t[int((NR + 1) / 2)], t[1], t[NR], n }'
}

echo "manage bench: $(nproc) cores, emulator on $AWS_ENDPOINT_URL"
time_runs "validate (no AWS call)" 10 staging validate
time_runs "bake (image stack, image.yml, image)" 1 staging bake
time_runs "commission --no-deploy" 1 staging commission --no-deploy
time_runs "deploy to 3 hosts (first)" 1 staging deploy
time_runs "deploy to 3 hosts (no changes)" 3 staging deploy
time_runs "exec -- hostname -I on 3 hosts" 5 staging exec -- hostname -I
time_runs "status (stack + 3 hosts)" 10 staging status
time_runs "inventory --list" 10 staging inventory --list
time_runs "decommission --yes" 1 staging decommission --yes
time_runs "clean --yes" 1 staging clean --yes
