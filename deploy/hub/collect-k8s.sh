#!/usr/bin/env bash
# Collect an assignment from the students' persistent homes on Zero to JupyterHub into the
# layout `smtpkit grade` reads (INTO/<student>/<notebook>), as `smtpkit hub collect` does on one machine.
#
#   deploy/hub/collect-k8s.sh NAMESPACE INTO NOTEBOOK.ipynb [NOTEBOOK.ipynb ...]
#   smtpkit grade INTO --assignment 02 --out graded
#
# For each volume claim-<user> it starts a short-lived pod that mounts the home READ-ONLY (the
# student's server may be culled; nothing of theirs runs) and streams out only regular files
# of ~/smtp-course (find -type f does not follow links) of at most 20 MB each, then deletes the pod.
# Not run on the machine this was written on (no Kubernetes there).
set -euo pipefail
ns=$1; into=$2; shift 2
mkdir -p "$into"
for claim in $(kubectl -n "$ns" get pvc -o name | sed -n 's#^persistentvolumeclaim/claim-##p'); do
  pod="collect-${claim:0:40}-$RANDOM"
  kubectl -n "$ns" run "$pod" --restart=Never --image=busybox:1.36 --overrides="$(cat <<JSON
{"spec": {"securityContext": {"runAsUser": 1000, "runAsGroup": 100},
  "containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "300"],
    "volumeMounts": [{"name": "home", "mountPath": "/home/jovyan", "readOnly": true}]}],
  "volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": "claim-$claim", "readOnly": true}}]}}
JSON
)" >/dev/null
  kubectl -n "$ns" wait --for=condition=Ready "pod/$pod" --timeout=120s >/dev/null
  mkdir -p "$into/$claim"
  for nb in "$@"; do
    if kubectl -n "$ns" exec "$pod" -- find /home/jovyan/smtp-course -maxdepth 1 -name "$nb" -type f -size -20M \
        | grep -q .; then
      kubectl -n "$ns" exec "$pod" -- cat "/home/jovyan/smtp-course/$nb" > "$into/$claim/$nb"
    else
      echo "$claim: $nb missing, a link, not a file or too large: not collected" >&2
    fi
  done
  rmdir "$into/$claim" 2>/dev/null || true
  kubectl -n "$ns" delete pod "$pod" --wait=false >/dev/null
done
