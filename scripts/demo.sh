#!/usr/bin/env bash
# The main job on the local AWS emulator: validate, commission, status and decommission the
# example app's `staging` env. The emulator runs on a free loopback port and is stopped even
# when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

manage=target/debug/manage
moto=.venv/bin/moto_server
[[ -x $moto ]] || { echo "demo: $moto is missing: run 'make demo' (it installs moto)" >&2; exit 2; }
[[ -x $manage ]] || { echo "demo: $manage is missing: run 'make demo' (it builds it)" >&2; exit 2; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp -t manage-demo-moto.XXXXXX)
"$moto" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
cleanup() {
  kill "$moto_pid" 2>/dev/null || true
  wait "$moto_pid" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT INT TERM

for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

# The emulator takes any credentials; the region comes from config.example.json.
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
unset AWS_PROFILE AWS_SESSION_TOKEN

step() {
  printf '\n\033[1m$ manage %s\033[0m\n' "$*"
  local start=$SECONDS
  "$manage" --config config.example.json "$@"
  printf '\033[2m(%ss)\033[0m\n' "$((SECONDS - start))"
}

echo "AWS emulator (moto) on $AWS_ENDPOINT_URL"
step staging validate
step staging commission
step staging status
step staging decommission --yes
echo
echo "demo: done"
