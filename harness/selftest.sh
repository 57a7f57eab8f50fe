#!/usr/bin/env bash
# Self-test for realhosts: real sshd in network namespaces for the emulator's instances.
# Needs root, iproute2, openssh-server (apt-get install -y openssh-server iproute2),
# and the project's .venv with moto, boto3 and ansible-core.
# Usage: harness/selftest.sh      (REALHOSTS=/path/to/realhosts to skip the build)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

[ "$(id -u)" = 0 ] || fail "must run as root"
[ -x /usr/sbin/sshd ] || fail "no /usr/sbin/sshd: apt-get install -y openssh-server iproute2"
[ -x "$VENV/bin/moto_server" ] || fail "no $VENV/bin/moto_server (install the project's venv)"

if [ -z "${REALHOSTS:-}" ]; then
  cargo build -q --manifest-path "$HERE/Cargo.toml"
  REALHOSTS=$CARGO_TARGET_DIR/debug/realhosts
fi

T=$(mktemp -d /tmp/realhosts-selftest.XXXXXX)
MOTO_PID=""
HARNESS_PIDS=()
cleanup() {
  local rc=$?
  for p in "${HARNESS_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${HARNESS_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  [ -n "$MOTO_PID" ] && kill "$MOTO_PID" 2>/dev/null || true
  "$REALHOSTS" --cleanup 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    echo "--- logs in $T (kept) ---" >&2
    tail -n 20 "$T"/*.log >&2 || true
  else
    rm -rf "$T"
  fi
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1
export ANSIBLE_HOST_KEY_CHECKING=False
PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
EP=http://127.0.0.1:$PORT
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$T/moto.log" 2>&1 &
MOTO_PID=$!
for _ in $(seq 100); do curl -sf "$EP/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "$EP/moto-api/" >/dev/null || fail "moto_server did not start"

ssh-keygen -q -t ed25519 -N '' -f "$T/id" -C selftest
SSH=(ssh -i "$T/id" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR)

# boto3 helper: ec2 CMD ARGS...
cat >"$T/ec2.py" <<'EOF'
import sys, boto3
ec2 = boto3.client("ec2", endpoint_url=sys.argv[1], region_name="us-east-1")
cmd, args = sys.argv[2], sys.argv[3:]
if cmd == "subnet":            # subnet CIDR -> subnet id
    vpc = ec2.create_vpc(CidrBlock=args[0].rsplit(".", 2)[0] + ".0.0/16")["Vpc"]["VpcId"]
    print(ec2.create_subnet(VpcId=vpc, CidrBlock=args[0])["Subnet"]["SubnetId"])
elif cmd == "run":             # run SUBNET COUNT -> "id ip" lines
    r = ec2.run_instances(ImageId="ami-785db401", MinCount=int(args[1]), MaxCount=int(args[1]),
        SubnetId=args[0], TagSpecifications=[{"ResourceType": "instance",
        "Tags": [{"Key": "App", "Value": "selftest"}]}])
    for i in r["Instances"]:
        print(i["InstanceId"], i["PrivateIpAddress"])
elif cmd == "stop":
    ec2.stop_instances(InstanceIds=args)
elif cmd == "terminate":
    ec2.terminate_instances(InstanceIds=args)
EOF
ec2() { "$VENV/bin/python" "$T/ec2.py" "$EP" "$@"; }

# start_harness NAME [wrapper]: starts realhosts, sets HPID (harness pid), STATE
start_harness() {
  STATE=$T/$1
  mkdir -p "$STATE"
  "$REALHOSTS" --endpoint-url "$EP" --region us-east-1 --authorized-key "$T/id.pub" \
    --state-dir "$STATE" --filter-tag App=selftest --poll-ms 100 2>"$T/$1.log" &
  HPID=$!
  HARNESS_PIDS+=("$HPID")
}

# wait_hosts STATE N: until hosts.json lists exactly N hosts
wait_hosts() {
  for _ in $(seq 300); do
    [ -f "$1/hosts.json" ] && [ "$(jq length "$1/hosts.json")" = "$2" ] && return 0
    sleep 0.05
  done
  fail "hosts.json in $1 did not reach $2 hosts: $(cat "$1/hosts.json" 2>/dev/null)"
}
ns_of() { jq -r --arg i "$2" '.[] | select(.instance_id==$i) | .namespace' "$1/hosts.json"; }

# assert_host_gone NS IP PIDS...: namespace, veths, route and processes are gone
assert_host_gone() {
  local ns=$1 ip=$2; shift 2
  local base=${ns%-*} n=${ns##*-}
  for _ in $(seq 100); do ip netns list | grep -qw "$ns" || break; sleep 0.05; done
  ip netns list | grep -qw "$ns" && fail "namespace $ns still exists"
  ip -o link | grep -q "${base}${n}a" && fail "veth ${base}${n}a still exists"
  [ -z "$(ip route show exact "$ip/32")" ] || fail "route to $ip still exists"
  for p in "$@"; do kill -0 "$p" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$p/status" &&
    fail "process $p ($(tr '\0' ' ' <"/proc/$p/cmdline")) from $ns still runs"; done
  return 0
}

command -v jq >/dev/null || fail "jq is needed: apt-get install -y jq"

echo "== 1. two instances become real hosts"
SUBNET=$(ec2 subnet 10.77.1.0/24)
mapfile -t INST < <(ec2 run "$SUBNET" 2)
read -r IA IPA <<<"${INST[0]}"
read -r IB IPB <<<"${INST[1]}"
T0=$(date +%s%N)
start_harness run1
wait_hosts "$STATE" 2
echo "   both hosts ready $(( ($(date +%s%N) - T0) / 1000000 )) ms after the harness started"
grep 'host up' "$T/run1.log" | sed 's/^/   /'
for pair in "$IA $IPA" "$IB $IPB"; do
  read -r i addr <<<"$pair"
  got=$("${SSH[@]}" "root@$addr" 'hostname -I' | tr -d ' \n')
  [ "$got" = "$addr" ] || fail "ssh $addr: hostname -I printed '$got'"
  ok "ssh root@$addr: hostname -I = $got ($i)"
done
"$VENV/bin/ansible" all -i "$IPA,$IPB," -u root --private-key "$T/id" \
  -e ansible_python_interpreter=/usr/bin/python3 -m ping >"$T/ansible.log" 2>&1 ||
  fail "ansible ping failed: $(tail -5 "$T/ansible.log")"
[ "$(grep -c '"ping": "pong"' "$T/ansible.log")" = 2 ] || fail "ansible: not two pongs"
ok "ansible -m ping: 2 pongs"

echo "== 2. duplicate IP in the same run is skipped with a warning"
SUBNET2=$(ec2 subnet 10.77.1.0/24)
mapfile -t DUP < <(ec2 run "$SUBNET2" 1)
read -r ID IPD <<<"${DUP[0]}"
if [ "$IPD" = "$IPA" ] || [ "$IPD" = "$IPB" ]; then
  for _ in $(seq 100); do grep -q "skipping $ID" "$T/run1.log" && break; sleep 0.05; done
  grep -q "skipping $ID: its IP $IPD is already held" "$T/run1.log" || fail "no duplicate-IP warning"
  ok "$(grep "skipping $ID" "$T/run1.log")"
else
  echo "   (emulator gave the duplicate subnet's instance $IPD, no clash to test)"
fi
ec2 terminate "$ID"

echo "== 3. stop and terminate tear hosts down"
NSA=$(ns_of "$STATE" "$IA"); NSB=$(ns_of "$STATE" "$IB")
# An open session must die with its host.
"${SSH[@]}" "root@$IPA" 'sleep 300' 2>/dev/null &
SESS=$!
sleep 0.5
PIDS_A=$(ip netns pids "$NSA" | tr '\n' ' ')
[ -n "$PIDS_A" ] || fail "no processes in $NSA"
ec2 stop "$IA"
wait_hosts "$STATE" 1
# shellcheck disable=SC2086
assert_host_gone "$NSA" "$IPA" $PIDS_A
wait "$SESS" 2>/dev/null || true
ok "stopped $IA: host $NSA gone (namespace, veth, route, sshd and its session)"
PIDS_B=$(ip netns pids "$NSB" | tr '\n' ' ')
ec2 terminate "$IB"
wait_hosts "$STATE" 0
# shellcheck disable=SC2086
assert_host_gone "$NSB" "$IPB" $PIDS_B
ok "terminated $IB: host $NSB gone"

echo "== 4. SIGTERM tears everything down"
mapfile -t C < <(ec2 run "$SUBNET" 1); read -r IC IPC <<<"${C[0]}"
wait_hosts "$STATE" 1
NSC=$(ns_of "$STATE" "$IC"); PIDS_C=$(ip netns pids "$NSC" | tr '\n' ' ')
# A second, concurrent run sees the same instance: it must skip it (the IP is routed
# already) and its shutdown must leave the first run's host alone.
H1=$HPID; S1=$STATE
start_harness run1b
for _ in $(seq 100); do grep -q "skipping $IC" "$T/run1b.log" && break; sleep 0.05; done
grep -q "skipping $IC: a route for $IPC/32 exists already" "$T/run1b.log" ||
  fail "concurrent run did not skip $IPC: $(cat "$T/run1b.log")"
kill -TERM "$HPID"; wait "$HPID" || fail "concurrent run exited $?"
[ "$("${SSH[@]}" "root@$IPC" 'hostname -I' | tr -d ' \n')" = "$IPC" ] ||
  fail "first run's host $IPC broken by the second run"
ok "concurrent run skipped $IPC ($(grep -o 'another run may hold it' "$T/run1b.log")), first run's host still answers"
HPID=$H1; STATE=$S1
kill -TERM "$HPID"
rc=0; wait "$HPID" || rc=$?
[ $rc = 0 ] || fail "realhosts exited $rc on SIGTERM"
# shellcheck disable=SC2086
assert_host_gone "$NSC" "$IPC" $PIDS_C
[ "$(jq length "$STATE/hosts.json")" = 0 ] || fail "hosts.json not emptied"
RUN1=$(grep -o 'run [0-9a-z]\{5\} ' "$T/run1.log" | head -1 | cut -d' ' -f2)
[ ! -e "/run/realhosts/$RUN1.json" ] || fail "run record /run/realhosts/$RUN1.json left"
pgrep -f "$STATE" >/dev/null && fail "a process of run1 is left: $(pgrep -af "$STATE")"
ok "SIGTERM: exit 0, nothing left"

echo "== 5. the parent dies (kill -9): the harness still tears down and exits"
STATE=$T/run2; mkdir -p "$STATE"
bash -c "'$REALHOSTS' --endpoint-url '$EP' --authorized-key '$T/id.pub' --state-dir '$STATE' \
  --filter-tag App=selftest --poll-ms 100 2>'$T/run2.log' & echo \$! >'$T/run2.pid'; wait" &
WRAP=$!
wait_hosts "$STATE" 1
HPID=$(cat "$T/run2.pid"); HARNESS_PIDS+=("$HPID")
NSC=$(ns_of "$STATE" "$IC"); PIDS_C=$(ip netns pids "$NSC" | tr '\n' ' ')
{ kill -9 "$WRAP"; wait "$WRAP"; } 2>/dev/null || true
for _ in $(seq 100); do kill -0 "$HPID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$HPID" 2>/dev/null && fail "realhosts still runs after its parent died"
# shellcheck disable=SC2086
assert_host_gone "$NSC" "$IPC" $PIDS_C
ok "parent killed: harness exited and removed $NSC ($(grep -o 'parent process [0-9]* exited' "$T/run2.log"))"

echo "== 6. realhosts --cleanup removes what a SIGKILLed harness left"
start_harness run3
wait_hosts "$STATE" 1
NSC=$(ns_of "$STATE" "$IC"); PIDS_C=$(ip netns pids "$NSC" | tr '\n' ' ')
SSHD_C=$(jq -r '.hosts[0].sshd_pid' /run/realhosts/*.json | head -1)
kill -9 "$HPID"; wait "$HPID" 2>/dev/null || true
for _ in $(seq 100); do kill -0 "$SSHD_C" 2>/dev/null || break; sleep 0.05; done
kill -0 "$SSHD_C" 2>/dev/null && fail "sshd $SSHD_C survived its harness (PDEATHSIG)"
ip netns list | grep -qw "$NSC" || fail "expected $NSC to be left behind by SIGKILL"
[ -n "$(ip route show exact "$IPC/32")" ] || fail "expected a leftover route to $IPC"
"$REALHOSTS" --cleanup 2>"$T/cleanup.log" || fail "--cleanup exited $?"
# shellcheck disable=SC2086
assert_host_gone "$NSC" "$IPC" $PIDS_C
RUN3=$(grep -o 'run [0-9a-z]\{5\} ' "$T/run3.log" | head -1 | cut -d' ' -f2)
[ ! -e "/run/realhosts/$RUN3.json" ] || fail "run record /run/realhosts/$RUN3.json left"
ok "--cleanup: $(tail -1 "$T/cleanup.log")"

echo "== 7. missing prerequisite: exit 2 with one line"
rc=0; out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$REALHOSTS" --cleanup 2>&1) || rc=$?
[ $rc = 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "non-root: exit $rc, output: $out"
ok "non-root: exit 2: $out"

echo "== 8. a fatal error (emulator gone) also tears down, exit 1"
"$REALHOSTS" --endpoint-url "$EP" --authorized-key "$T/id.pub" --state-dir "$STATE" \
  --filter-tag App=selftest --poll-ms 100 --error-timeout-ms 500 2>"$T/run5.log" &
HPID=$!; HARNESS_PIDS+=("$HPID")
wait_hosts "$STATE" 1
NSC=$(ns_of "$STATE" "$IC"); PIDS_C=$(ip netns pids "$NSC" | tr '\n' ' ')
kill "$MOTO_PID"; wait "$MOTO_PID" 2>/dev/null || true; MOTO_PID=""
rc=0; wait "$HPID" || rc=$?
[ $rc = 1 ] || fail "expected exit 1 when the emulator is gone, got $rc"
# shellcheck disable=SC2086
assert_host_gone "$NSC" "$IPC" $PIDS_C
ok "emulator gone: exit 1 after teardown: $(grep giving "$T/run5.log" | tail -1 | cut -c1-110)..."

echo "PASS: realhosts selftest"
