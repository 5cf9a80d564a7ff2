#!/usr/bin/env bash
# Terraform checks of infra/terraform, offline: fmt, then init, validate and test in the root
# and every module, then a plan of each shipped tfvars file checked for what must never be in it
# (a plain-HTTP listener that forwards, a secret other than the ElastiCache AUTH token).
#
# The Terraform registry is not reachable from CI, so the providers come from filesystem mirrors:
#   hashicorp/random  built from source through the Go module proxy into $SHOP_TF_MIRROR
#                     (default /var/cache/shop-terraform-mirror, kept between runs);
#   hashicorp/aws     taken from $SHOP_TF_AWS_MIRROR (default /opt/tf-plugins) or $SHOP_TF_MIRROR.
# A machine without terraform or the aws provider fails here, loudly: nothing is skipped
# (trivy, an optional extra, runs when it is installed and is reported as not run otherwise).
#
# Usage: bash infra/terraform/check.sh      (from anywhere; CI runs it from .ci/run)
# Prints "terraform test: N passed, M failed" and exits non-zero when anything failed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
MIRROR=${SHOP_TF_MIRROR:-/var/cache/shop-terraform-mirror}
AWS_MIRROR=${SHOP_TF_AWS_MIRROR:-/opt/tf-plugins}

# hashicorp/random 3.9.0. Its go.mod names the module github.com/terraform-providers/…, so the
# proxy serves its v3 tags only as this pseudo-version of the hashicorp path (commit e1092b0cfc07,
# the 3.9.0 changelog at its top). go.sum checking covers the download as for any module.
RANDOM_MODULE=github.com/hashicorp/terraform-provider-random
RANDOM_MODULE_VERSION=v1.3.2-0.20260824155315-e1092b0cfc07
RANDOM_VERSION=3.9.0


say() { echo "terraform-check: $*"; }
die() {
  echo "terraform-check: FAIL: $*" >&2
  exit 1
}

platform="$(go env GOOS)_$(go env GOARCH)"
export GOWORK=off CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0

# build_module MODULE VERSION OUTPUT: download MODULE@VERSION from the Go module proxy (checked
# against go.sum data like any module) and build its main package, inside the module itself so
# that its own go.mod, replace directives included, applies.
build_module() {
  local tmp json dir
  tmp=$(mktemp -d)
  json=$(cd "$tmp" && go mod download -json "$1@$2") || {
    echo "$json" >&2
    die "could not download $1@$2 from the Go module proxy"
  }
  dir=$(echo "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] && [ -f "$dir/go.mod" ] || die "no module directory for $1@$2"
  (cd "$dir" && go build -trimpath -o "$tmp/out" .) || die "could not build $1@$2"
  mkdir -p "$(dirname "$3")"
  mv "$tmp/out" "$3.tmp" && mv "$3.tmp" "$3"
  rm -rf "$tmp"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TF_CLI_CONFIG_FILE="$work/terraform.rc"
: >"$TF_CLI_CONFIG_FILE"

# ---------------------------------------------------------------- terraform

TF=${SHOP_TF_TERRAFORM:-$(command -v terraform || true)}
# terraform can't be downloaded here (the releases site is not reachable) nor built from the Go
# module proxy (its go.mod replaces backends by sub-directories that are separate modules, left
# out of the module's zip), so it must be installed: fail, never skip.
[ -n "$TF" ] && [ -x "$TF" ] || die "terraform (>= 1.11) is not on PATH (or SHOP_TF_TERRAFORM): install it;
  terraform validate and terraform test cannot run without it.${CI:+ (CI=$CI)}"
say "$("$TF" version | head -1)"

# ---------------------------------------------------------------- providers

random_bin="$MIRROR/registry.terraform.io/hashicorp/random/$RANDOM_VERSION/$platform/terraform-provider-random_v$RANDOM_VERSION"
if [ -x "$random_bin" ]; then
  say "hashicorp/random $RANDOM_VERSION: cached in $MIRROR"
else
  say "hashicorp/random $RANDOM_VERSION: building from $RANDOM_MODULE@$RANDOM_MODULE_VERSION (a few minutes the first time)"
  start=$SECONDS
  build_module "$RANDOM_MODULE" "$RANDOM_MODULE_VERSION" "$random_bin"
  say "hashicorp/random built in $((SECONDS - start))s"
fi

aws_mirror=""
for m in "$AWS_MIRROR" "$MIRROR"; do
  if compgen -G "$m/registry.terraform.io/hashicorp/aws/*/$platform/terraform-provider-aws_*" >/dev/null; then
    aws_mirror=$m
    break
  fi
done
if [ -z "$aws_mirror" ]; then
  # Building the aws provider from source takes far longer than CI's budget for this step and
  # more memory than a CI machine should spend on it, so it is not done here.
  die "no hashicorp/aws provider for $platform in $AWS_MIRROR or $MIRROR (layout
  registry.terraform.io/hashicorp/aws/VERSION/$platform/terraform-provider-aws_vVERSION*).
  Put one there (SHOP_TF_AWS_MIRROR names another mirror); terraform validate and terraform
  test cannot run without it, and CI does not pass without them.${CI:+ (CI=$CI)}"
fi
aws_version=$(compgen -G "$aws_mirror/registry.terraform.io/hashicorp/aws/*/$platform" | sort -V | tail -1)
say "hashicorp/aws $(basename "$(dirname "$aws_version")") from $aws_mirror"

# ---------------------------------------------------------------- workspace

cat >"$TF_CLI_CONFIG_FILE" <<EOF
# Written by infra/terraform/check.sh: providers from local mirrors only, never the registry.
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/hashicorp/random"]
  }
  filesystem_mirror {
    path    = "$aws_mirror"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
EOF

# A copy of the configuration, so no .terraform directory or lock file lands in the tree.
src="$work/src"
mkdir -p "$src"
(cd "$HERE" && find . \( -name .terraform -prune \) -o -type f \( -name '*.tf' -o -name '*.tfvars' -o -name '*.tftest.hcl' \) -print |
  while read -r f; do mkdir -p "$src/$(dirname "$f")" && cp "$f" "$src/$f"; done)

failed=()
passed_runs=0
failed_runs=0

say "terraform fmt -check -recursive"
if ! "$TF" fmt -check -recursive -diff -no-color "$HERE" >"$work/fmt.log" 2>&1; then
  cat "$work/fmt.log"
  failed+=("fmt")
fi

for d in . modules/network modules/elasticache modules/database modules/app; do
  t0=$SECONDS
  log="$work/$(echo "$d" | tr / _).log"
  if ! (cd "$src/$d" && "$TF" init -backend=false -no-color) >"$log" 2>&1; then
    cat "$log"
    failed+=("$d: init")
    continue
  fi
  if ! (cd "$src/$d" && "$TF" validate -no-color) >>"$log" 2>&1; then
    cat "$log"
    failed+=("$d: validate")
    continue
  fi
  summary="validate ok"
  if [ -d "$src/$d/tests" ]; then
    if (cd "$src/$d" && "$TF" test -no-color) >"$log.test" 2>&1; then ok=1; else ok=0; fi
    # "Success! 12 passed, 0 failed." or "Failure! 11 passed, 1 failed."
    line=$(grep -E '^(Success|Failure)! [0-9]+ passed, [0-9]+ failed' "$log.test" | tail -1 || true)
    p=$(echo "$line" | sed -nE 's/.* ([0-9]+) passed.*/\1/p')
    f=$(echo "$line" | sed -nE 's/.* ([0-9]+) failed.*/\1/p')
    passed_runs=$((passed_runs + ${p:-0}))
    failed_runs=$((failed_runs + ${f:-0}))
    if [ "$ok" != 1 ] || [ -z "$line" ] || [ "${f:-1}" != 0 ]; then
      grep -vE '^\s*$' "$log.test" | grep -vE '\.\.\. pass$|in progress$|tearing down$' || true
      failed+=("$d: test")
      [ -z "$line" ] && failed_runs=$((failed_runs + 1))
    fi
    summary="$summary, test: ${p:-0} passed, ${f:-?} failed"
  fi
  say "$d: $summary ($((SECONDS - t0))s)"
done

# ---------------------------------------------------------------- plans of the shipped tfvars

# A plan with fake credentials: the override file (only in the copy) stops the provider from
# calling AWS. plancheck reads the plan JSON for a forwarding plain-HTTP listener and for
# secrets other than the AUTH token.
cat >"$src/zz_check_override.tf" <<'EOF'
provider "aws" {
  access_key                  = "mock-access-key"
  secret_key                  = "mock-secret-key"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  allowed_account_ids         = null # no account to ask for its ID
}
EOF
(cd "$REPO" && go build -o "$work/plancheck" ./infra/terraform/plancheck) || failed+=("plancheck: build")
for vars in cluster-mode-disabled.tfvars cluster-mode-enabled.tfvars; do
  t0=$SECONDS
  log="$work/plan-$vars.log"
  if (cd "$src" && "$TF" plan -no-color -lock=false -refresh=false -var-file="$vars" -out="$work/$vars.plan" &&
    "$TF" show -json "$work/$vars.plan" >"$work/$vars.json") >"$log" 2>&1; then
    if "$work/plancheck" "$work/$vars.json"; then
      say "plan $vars: $(grep -E '^Plan:' "$log") checks ok ($((SECONDS - t0))s)"
    else
      failed+=("plan $vars: plancheck")
    fi
  else
    cat "$log"
    failed+=("plan $vars")
  fi
done

# And without a certificate (and without the explicit allow_plain_http demo opt-in) the shipped
# files must not plan at all.
echo 'certificate_arn = null' >"$work/nocert.tfvars"
if (cd "$src" && "$TF" plan -no-color -lock=false -refresh=false -var-file=cluster-mode-disabled.tfvars \
  -var-file="$work/nocert.tfvars") >"$work/plan-nocert.log" 2>&1; then
  failed+=("plan without certificate_arn: accepted, but HTTPS must be the default")
elif grep -q "HTTPS is the default" "$work/plan-nocert.log"; then
  say "plan without certificate_arn: refused, as it must be"
else
  cat "$work/plan-nocert.log"
  failed+=("plan without certificate_arn: failed for another reason")
fi

# trivy's misconfiguration checks (embedded in the binary: no download), when trivy is here: on
# PATH or in $MIRROR/bin. It is not a Debian package and takes ~7 minutes to build, so a machine
# without it skips this one step and says so (README: Security scan).
TRIVY=$(command -v trivy || compgen -G "$MIRROR/bin/trivy-*" | sort -V | tail -1 || true)
if [ -n "$TRIVY" ]; then
  for vars in cluster-mode-disabled.tfvars cluster-mode-enabled.tfvars; do
    if (cd "$HERE" && "$TRIVY" config --quiet --skip-check-update --exit-code 1 --tf-vars "$vars" .) >"$work/trivy-$vars.log" 2>&1; then
      say "trivy config with $vars: no misconfiguration (AWS-0053, the public load balancer, ignored in the code)"
    else
      cat "$work/trivy-$vars.log"
      failed+=("trivy config with $vars")
    fi
  done
else
  say "trivy is not installed here: security scan not run (README: Security scan)"
fi

echo "terraform test: $passed_runs passed, $failed_runs failed"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'terraform-check: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
say "all checks passed"
