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
if pgrep -f 'sshd -D -e -f .*/realhosts/' >/dev/null; then
  echo "check-clean: an sshd of the harness is still running:" >&2
  pgrep -af 'sshd -D -e -f .*/realhosts/' >&2
  exit 1
fi
echo "check-clean: no namespace, veth or sshd left behind"
