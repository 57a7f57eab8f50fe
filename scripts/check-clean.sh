#!/usr/bin/env bash
# After the test suite: no network namespace, veth or sshd of the real-host harness is left.
# `realhosts --cleanup` removes the leftovers of dead runs; anything it had to remove is a leak.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "check-clean: not root, so no real hosts were made"; exit 0; }
report=$(target/debug/realhosts --cleanup 2>&1)
echo "check-clean: $report"
if ! grep -q "0 dead run(s), 0 namespace(s), 0 orphan veth(s)" <<<"$report"; then
  echo "check-clean: the tests left real hosts behind (removed now)" >&2
  exit 1
fi
# An sshd of the harness whose parent is no longer a realhosts process has leaked. (One whose
# realhosts is alive belongs to a run still going, such as another suite on this machine.)
leaked=()
for pid in $(pgrep -f 'sshd -D -e -f .*/realhosts/' || true); do
  parent=$(ps -o ppid= -p "$pid" | tr -d ' ')
  [[ -n $parent && $(ps -o comm= -p "$parent" 2>/dev/null) == realhosts ]] || leaked+=("$pid")
done
if (( ${#leaked[@]} > 0 )); then
  echo "check-clean: sshd processes of the harness were left behind:" >&2
  ps -o pid,args -p "$(IFS=,; echo "${leaked[*]}")" >&2
  exit 1
fi
echo "check-clean: no namespace, veth or sshd left behind"
