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

# median_of N CMD...: run CMD N times (output to bench-step.log), print the median seconds.
median_of() {
  local n=$1; shift
  local times=()
  for _ in $(seq "$n"); do
    local t0=$(date +%s.%N)
    "$@" >bench-step.log 2>&1 || { echo "bench: $* failed:" >&2; cat bench-step.log >&2; exit 1; }
    times+=("$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { print a - b }')")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END { printf "%.2f", t[int((NR + 1) / 2)] }'
}

# cpu_of LABEL CMD...: run CMD once, print the CPU seconds it took: the whole machine's (here
# the hosts' sshd and module runs share the CPUs with Ansible) and its own with its children
# (manage, ansible-playbook and their processes: the controller's share).
cpu_of() {
  local label=$1; shift
  local hz all0 all1 own0 own1
  hz=$(getconf CLK_TCK)
  machine() { awk -v hz="$hz" '/^cpu / { print ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat; }
  # Children's user and system seconds, from this shell's `times` (a subshell has its own).
  children() { awk 'NR == 2 { gsub(/[ms]/, " "); print $1 * 60 + $2 + $3 * 60 + $4 }' bench-times; }
  all0=$(machine); times >bench-times; own0=$(children)
  "$@" >bench-step.log 2>&1 || { echo "bench: $* failed:" >&2; cat bench-step.log >&2; exit 1; }
  all1=$(machine); times >bench-times; own1=$(children)
  awk -v l="$label" -v a="$(awk -v x="$all1" -v y="$all0" 'BEGIN { print x - y }')" \
    -v o="$(awk -v x="$own1" -v y="$own0" 'BEGIN { print x - y }')" 'BEGIN {
    printf "%-44s %7.1f CPU s on the machine, %.1f of them the controller'"'"'s\n", l, a, o }'
}

# plain_ansible: what an operator runs without manage: one ansible-playbook over a static
# inventory of the same hosts (written from `manage inventory --list`), the same playbooks
# and Ansible's default settings (only the user, key and host-key file given).
plain_ansible() {
  ansible-playbook -i plain-inventory.json -u root --private-key local-key \
    --ssh-extra-args "-o UserKnownHostsFile=$work/plain-known-hosts -o StrictHostKeyChecking=accept-new" \
    -e @plain-vars.json playbooks/app.yml playbooks/worker.yml
}

# mitogen on|off: the config's "mitogen" setting, for the runs that follow.
mitogen() {
  "$root/.venv/bin/python" - "$1" <<'PY'
import json, sys
c = json.load(open("config.json"))
c["mitogen"] = sys.argv[1] == "on"
json.dump(c, open("config.json", "w"), indent=2)
PY
}

# deploy_compare HOSTS: a no-change deploy, manage vs plain ansible-playbook, side by side; then
# both with Mitogen (the plain run given its strategy as an operator would in ansible.cfg).
deploy_compare() {
  "$manage" staging inventory --list | "$root/.venv/bin/python" -c '
import json, sys
inv = json.load(sys.stdin)
meta = inv.pop("_meta")["hostvars"]
top = inv.pop("all")
children = {g: {"hosts": {h: meta[h] for h in v["hosts"]}} for g, v in inv.items()}
json.dump({"all": {"children": children}}, open("plain-inventory.json", "w"))
json.dump(top["vars"], open("plain-vars.json", "w"))'
  # New hosts may reuse an earlier run's addresses with new host keys: start a fresh file.
  rm -f plain-known-hosts
  plain_ansible >/dev/null 2>&1 || true # accept the host keys once
  local m g p q strategy
  m=$(median_of 3 "$manage" staging deploy)
  mitogen on
  g=$(median_of 3 "$manage" staging deploy)
  cpu_of "  CPU, $1 hosts, mitogen" "$manage" staging deploy >"deploy-cpu-$1.txt"
  mitogen off
  p=$(median_of 3 plain_ansible)
  strategy=$("$root/.venv/bin/python" -c 'import os, ansible_mitogen; print(os.path.dirname(ansible_mitogen.__file__))')/plugins/strategy
  q=$(ANSIBLE_STRATEGY_PLUGINS=$strategy ANSIBLE_STRATEGY=mitogen_linear median_of 3 plain_ansible)
  awk -v h="$1" -v m="$m" -v g="$g" -v p="$p" -v q="$q" 'BEGIN {
    printf "%-44s %7.2fs  vs plain ansible-playbook %.2fs  (%.2fx, median of 3)\n", "deploy, no changes, " h " hosts", m, p, m / p
    printf "%-44s %7.2fs  vs plain ansible-playbook %.2fs  (%.2fx; plain with mitogen %.2fs)\n", "deploy, no changes, " h " hosts, mitogen", g, p, g / p, q }'
  cat "deploy-cpu-$1.txt"
  echo "$m" >"deploy-$1.seconds"
  echo "$g" >"deploy-mitogen-$1.seconds"
}

echo "manage bench: $(nproc) cores, emulator on $AWS_ENDPOINT_URL"
if [[ ${1:-} == deploy ]]; then
  # Only the deploy comparison: 3 hosts, then 20.
  "$manage" staging commission --no-bake --no-deploy >/dev/null 2>bench-step.log
  "$manage" staging deploy >/dev/null 2>bench-step.log
  deploy_compare 3
  "$manage" staging decommission --yes >/dev/null 2>bench-step.log
  # 19 workers and the app host.
  "$root/.venv/bin/python" - <<'PY'
text = open("formations/worker.yaml").read()
head, one = text.split("  WorkerOne:\n")
one = one.split("  WorkerTwo:\n")[0]
open("formations/worker.yaml", "w").write(head + "".join(f"  Worker{i}:\n" + one for i in range(19)))
PY
  "$manage" staging commission --no-bake --no-deploy >/dev/null 2>bench-step.log
  "$manage" staging deploy >/dev/null 2>bench-step.log
  deploy_compare 20
  awk -v a="$(cat deploy-3.seconds)" -v b="$(cat deploy-20.seconds)" \
    -v c="$(cat deploy-mitogen-3.seconds)" -v d="$(cat deploy-mitogen-20.seconds)" 'BEGIN {
    printf "%-44s %7.2fx\n", "deploy time, 20 hosts / 3 hosts", b / a
    printf "%-44s %7.2fx\n", "deploy time, 20 hosts / 3 hosts, mitogen", d / c }'
  exit 0
fi
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
