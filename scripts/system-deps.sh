#!/usr/bin/env bash
# Install the system packages the real-host tests and the demo's deploy need (sshd for the
# emulated hosts, iproute2 for their network namespaces, sudo for the playbooks' `become`),
# when missing. Needs root and apt.
set -euo pipefail
need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
[[ -x /usr/sbin/sshd ]] || need+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v ps >/dev/null 2>&1 || need+=(procps)
command -v sudo >/dev/null 2>&1 || need+=(sudo)
(( ${#need[@]} == 0 )) && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "system-deps: missing ${need[*]}; the real-host tests and the demo's deploy need root and: apt-get install -y ${need[*]}" >&2
  exit 0
fi
echo "system-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
