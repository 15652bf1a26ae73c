#!/usr/bin/env bash
# CI check of deploy/: render the kustomizations the way users apply them and check that what
# would run passes Pod Security `restricted` (the webhook's own namespace enforces it), plus a
# few structural promises of the manifests.
#
#   deploy/verify.sh                 # builds podsec (release) unless PODSEC=/path/to/podsec
#
# Installs kubectl from Debian (kubernetes-client) when there is none. Renders deploy/
# (cert-manager) and, when openssl is there, deploy/manual-certs with certificates from
# gen-certs.sh in a scratch copy, and deploy/ with the PodSecurityPolicy component (deploy/psp).
# Exit 0 when everything holds.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

if ! command -v kubectl >/dev/null 2>&1; then
  echo "kubectl not found: installing Debian's kubernetes-client"
  as_root apt-get update -qq
  apt-cache policy kubernetes-client | sed -n '1,3p'
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null
fi
kubectl version --client 2>/dev/null | head -2 || true

podsec=${PODSEC:-}
if [[ -z $podsec ]]; then
  (cd "$root" && cargo build --release --quiet -p podsec)
  podsec=${CARGO_TARGET_DIR:-$root/target}/release/podsec
fi

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect() { # expect FILE COUNT PATTERN DESCRIPTION
  local n
  n=$(grep -cE -- "$3" "$1" || true)
  [[ $n -eq $2 ]] || fail "$4 (found $n of '$3', want $2)"
}

check_rendered() { # check_rendered NAME FILE
  local name=$1 file=$2
  echo "== $name: $(grep -c '^kind:' "$file") objects"
  expect "$file" 1 '^kind: Deployment$' "$name: one Deployment"
  expect "$file" 1 '^kind: PodDisruptionBudget$' "$name: a PodDisruptionBudget"
  expect "$file" 1 '^  replicas: 2$' "$name: 2 replicas"
  expect "$file" 1 '^    pod-security.kubernetes.io/enforce: restricted$' "$name: namespace enforces restricted"
  expect "$file" 2 '^- admissionReviewVersions:' "$name: two webhooks" # kustomize sorts keys
  expect "$file" 2 '^  name: pod-security-webhook.kubernetes.io$' "$name: the configuration and its enforcing webhook"
  expect "$file" 1 'name: advisory.pod-security-webhook.kubernetes.io$' "$name: the advisory webhook"
  expect "$file" 1 'failurePolicy: Fail$' "$name: Fail for pods and namespaces"
  expect "$file" 1 'failurePolicy: Ignore$' "$name: Ignore for controllers"
  expect "$file" 2 'timeoutSeconds: 5$' "$name: 5 s webhook timeouts"
  expect "$file" 2 '^      - podsec-system$' "$name: own namespace excluded from both webhooks"
  expect "$file" 2 '^  verbs:$' "$name: two RBAC rules"
  if grep -nE '^\s*- (create|update|patch|delete)$' "$file"; then fail "$name: RBAC grants writes"; fi
  echo "-- podsec check --level restricted"
  if ! "$podsec" check --level restricted "$file"; then
    fail "$name: not admitted under restricted"
  fi
}

kubectl kustomize "$root/deploy" > "$tmp/cert-manager.yaml"
check_rendered "deploy/ (cert-manager)" "$tmp/cert-manager.yaml"
expect "$tmp/cert-manager.yaml" 2 '^kind: Certificate$' "cert-manager: CA and serving Certificates"
expect "$tmp/cert-manager.yaml" 1 'cert-manager.io/inject-ca-from: podsec-system/podsec-webhook' "cert-manager: CA injection"

if command -v openssl >/dev/null 2>&1; then
  cp -r "$root/deploy" "$tmp/deploy"
  rm -rf "$tmp/deploy/manual-certs/pki" "$tmp/deploy/manual-certs/ca-bundle.yaml"
  "$tmp/deploy/gen-certs.sh" >/dev/null
  kubectl kustomize "$tmp/deploy/manual-certs" > "$tmp/manual.yaml"
  check_rendered "deploy/manual-certs (gen-certs.sh)" "$tmp/manual.yaml"
  expect "$tmp/manual.yaml" 2 'caBundle: ' "manual-certs: CA bundle in both webhooks"
  expect "$tmp/manual.yaml" 1 '^type: kubernetes.io/tls$' "manual-certs: the TLS Secret"
else
  echo "openssl not found: skipping deploy/manual-certs"
fi

# The optional PodSecurityPolicy component (deploy/psp) on top of deploy/, rendered from an
# overlay the way its README shows.
mkdir -p "$tmp/psp/overlay"
cp -r "$root/deploy" "$tmp/psp/deploy"
cat > "$tmp/psp/overlay/kustomization.yaml" <<'OVERLAY'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../deploy
components:
- ../deploy/psp
OVERLAY
kubectl kustomize "$tmp/psp/overlay" > "$tmp/psp.yaml"
echo "== deploy/ + deploy/psp: $(grep -c '^kind:' "$tmp/psp.yaml") objects"
expect "$tmp/psp.yaml" 1 '^kind: CustomResourceDefinition$' "psp: the policy CRD"
expect "$tmp/psp.yaml" 1 '^  name: podsecuritypolicies.policy.podsec.dev$' "psp: CRD name"
expect "$tmp/psp.yaml" 1 '^  scope: Cluster$' "psp: cluster-scoped policies"
expect "$tmp/psp.yaml" 1 '^kind: MutatingWebhookConfiguration$' "psp: the mutating webhook"
expect "$tmp/psp.yaml" 1 'reinvocationPolicy: IfNeeded$' "psp: reinvoked when later webhooks change the pod"
expect "$tmp/psp.yaml" 1 'path: /mutate$' "psp: mutating path"
expect "$tmp/psp.yaml" 2 'failurePolicy: Fail$' "psp: Fail for the mutating and the enforcing webhook"
expect "$tmp/psp.yaml" 3 'timeoutSeconds: 5$' "psp: 5 s webhook timeouts"
expect "$tmp/psp.yaml" 3 '^      - podsec-system$' "psp: own namespace excluded from every webhook"
expect "$tmp/psp.yaml" 2 'cert-manager.io/inject-ca-from: podsec-system/podsec-webhook' "psp: CA injection into both configurations"
expect "$tmp/psp.yaml" 1 '^        - --psp$' "psp: --psp passed to podsec serve"
expect "$tmp/psp.yaml" 1 '^  - subjectaccessreviews$' "psp: SubjectAccessReviews for use"
# The only write is the SubjectAccessReview create (nothing is stored by it).
expect "$tmp/psp.yaml" 1 '^\s*- (create|update|patch|delete)$' "psp: create on subjectaccessreviews only"
"$podsec" serve --help | grep -q -- '--psp-file' || fail "psp: podsec serve has no --psp-file"
echo "-- podsec check --level restricted"
"$podsec" check --level restricted "$tmp/psp.yaml" >/dev/null || fail "psp: not admitted under restricted"

if [[ $failures -eq 0 ]]; then
  echo "deploy: all checks hold"
else
  echo "deploy: $failures check(s) failed"
  exit 1
fi
