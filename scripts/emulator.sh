# Sourced by demo.sh and bench.sh: a scratch copy of the example app, the AWS emulator on a
# free loopback port, and (as root) real hosts for its instances. `cleanup` stops everything.
# Expects: set -euo pipefail, and the caller's folder is the repository root.

root=$PWD
manage=$root/target/debug/manage
realhosts=$root/target/debug/realhosts
moto=$root/.venv/bin/moto_server
for f in "$moto" "$manage" "$realhosts"; do
  [[ -x $f ]] || { echo "$0: $f is missing: run it through make (it installs and builds everything)" >&2; exit 2; }
done

work=$(mktemp -d -t manage-run.XXXXXX)
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
# Where the emulator differs from AWS, and only there: it cannot delete a stack that has a route
# table (so no internet route), it checks no security group (any SSH range will do), and the
# real hosts below serve each instance's private IP. The base image stays the example's SSM
# parameter, which the emulator serves.
python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["parameters"].update(InternetRoute="false", SshCidr="10.0.0.0/8")
c["address"] = "private_ip"
json.dump(c, open("config.json", "w"), indent=2)
PY

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$moto" -H 127.0.0.1 -p "$port" >moto.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

# The emulator takes any credentials; the region is the AWS chain's, as on AWS.
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1
export XDG_CONFIG_HOME=$work/xdg PATH="$root/.venv/bin:$PATH"
unset AWS_PROFILE AWS_SESSION_TOKEN
# The example's key pair, as an operator would have imported it (manage's preflight checks it).
"$root/.venv/bin/python" -c 'import boto3, os; boto3.client("ec2", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1").create_key_pair(KeyName="argos")'

# real_hosts: "yes" when the emulator's instances are served as real SSH hosts, else why not.
if [[ $(id -u) -ne 0 ]]; then
  real_hosts="not root, so the emulator's instances cannot become real hosts (network namespaces need root)"
elif [[ ! -x /usr/sbin/sshd ]] || ! command -v ip >/dev/null; then
  real_hosts="sshd or ip is missing (apt-get install -y openssh-server iproute2)"
else
  real_hosts=yes
  # The harness serves each running instance over SSH as root with a local key, and the
  # playbooks write under this folder (the hosts share the machine's filesystem).
  ssh-keygen -q -t ed25519 -N '' -f local-key
  python3 - <<'PY'
import json
c = json.load(open("config.json"))
c.update(ssh_user="root", ssh_key_file="local-key")
json.dump(c, open("config.json", "w"), indent=2)
PY
  sed -i "s|^argos_base: .*|argos_base: $work/hostfs|" playbooks/group_vars/all.yml
  "$realhosts" --endpoint-url "$AWS_ENDPOINT_URL" --authorized-key local-key.pub --state-dir realhosts \
    --filter-tag App=argos >realhosts.log 2>&1 &
  pids+=($!)
fi
