#!/usr/bin/env bash
# The main job on the local AWS emulator: validate, commission (which deploys), show, run a
# command on every host, list the Ansible inventory, and decommission the example app's
# `staging` env. As root, the emulator's instances become real hosts (network namespaces with
# sshd, see harness/), so the deploy is real Ansible over real SSH. Everything started here is
# stopped even when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

root=$PWD
manage=$root/target/debug/manage
realhosts=$root/target/debug/realhosts
moto=$root/.venv/bin/moto_server
for f in "$moto" "$manage" "$realhosts"; do
  [[ -x $f ]] || { echo "demo: $f is missing: run 'make demo' (it installs and builds everything)" >&2; exit 2; }
done

# A scratch copy of the example app: the config, fragments and playbooks as a user has them.
work=$(mktemp -d -t manage-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cp -r config.example.json formations playbooks "$work/"
mv "$work/config.example.json" "$work/config.json"
cd "$work"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$moto" -H 127.0.0.1 -p "$port" >moto.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

# The emulator takes any credentials; the region comes from the config.
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
export XDG_CONFIG_HOME=$work/xdg PATH="$root/.venv/bin:$PATH"
unset AWS_PROFILE AWS_SESSION_TOKEN

deploy=yes
if [[ $(id -u) -ne 0 ]]; then
  deploy=no
  echo "demo: not root, so the emulator's instances cannot become real hosts (network namespaces need root): skipping the deploy steps"
elif [[ ! -x /usr/sbin/sshd ]] || ! command -v ip >/dev/null; then
  deploy=no
  echo "demo: sshd or ip is missing (apt-get install -y openssh-server iproute2): skipping the deploy steps"
else
  # Real hosts: the harness serves each running instance over SSH as root with a demo key,
  # and the playbooks write under this folder (the hosts share the machine's filesystem).
  ssh-keygen -q -t ed25519 -N '' -f demo-key
  python3 - <<'PY'
import json
c = json.load(open("config.json"))
c.update(ssh_user="root", ssh_key_file="demo-key")
json.dump(c, open("config.json", "w"), indent=2)
PY
  sed -i "s|^argos_base: .*|argos_base: $work/hostfs|" playbooks/group_vars/all.yml
  "$realhosts" --endpoint-url "$AWS_ENDPOINT_URL" --authorized-key demo-key.pub --state-dir realhosts \
    --filter-tag App=argos >realhosts.log 2>&1 &
  pids+=($!)
fi

step() {
  printf '\n\033[1m$ manage %s\033[0m\n' "$*"
  local start=$SECONDS
  "$manage" "$@"
  printf '\033[2m(%ss)\033[0m\n' "$((SECONDS - start))"
}

echo "AWS emulator (moto) on $AWS_ENDPOINT_URL; working in $work"
step staging validate
if [[ $deploy == yes ]]; then
  step staging commission
  step staging status
  step staging exec -- hostname -I
  step staging inventory --list
else
  step staging commission --no-deploy
  step staging status
fi
step staging decommission --yes
echo
echo "demo: done"
