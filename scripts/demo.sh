#!/usr/bin/env bash
# The main job on the local AWS emulator: validate, bake the app image, commission (which
# deploys), show, run a command on every host, stop and start one host, list the Ansible inventory, decommission the
# example app's `staging` env, and clean the images. As root, the emulator's instances become
# real hosts (network namespaces with sshd, see harness/), so the deploy is real Ansible over
# real SSH. Everything started here is stopped even when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/emulator.sh

step() {
  printf '\n\033[1m$ manage %s\033[0m\n' "$*"
  local start=$SECONDS
  "$manage" "$@"
  printf '\033[2m(%ss)\033[0m\n' "$((SECONDS - start))"
}

echo "AWS emulator (moto) on $AWS_ENDPOINT_URL; working in $work"
# Route53 names for the hosts: a zone in the emulator, and "dns" in the config pointing at it.
"$root/.venv/bin/python" - <<'PY'
import json, os, boto3
r53 = boto3.client("route53", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
r53.create_hosted_zone(Name="example.internal", CallerReference="manage-demo")
c = json.load(open("config.json"))
c["dns"] = {"zone": "example.internal", "ttl": 60}
json.dump(c, open("config.json", "w"), indent=2)
PY
step staging validate
if [[ $real_hosts == yes ]]; then
  step staging bake
  step staging commission
  step staging status
  step staging dns
  step staging exec -- hostname -I
  step staging stop argos-staging-worker-1 --yes
  step staging status --group worker
  step staging start argos-staging-worker-1
  step staging inventory --list
  step staging decommission --yes
  step staging clean --yes
else
  echo "demo: $real_hosts: skipping the bake and deploy steps"
  step staging commission --no-bake --no-deploy
  step staging status
  step staging dns
  step staging decommission --yes
fi
echo
echo "demo: done"
