#!/usr/bin/env bash
# Fails when src/gen/ is stale: regenerates from proto/ into a temp dir (so a concurrent edit of
# the working tree is never clobbered) and compares; then fails when src/gen/ differs from what
# git has committed, because generated code is reviewed and shipped, not built at install time.
# Offline: buf.gen.yaml uses the local protoc-gen-es plugin and there are no BSR dependencies.
#
# Example:  bash scripts/check-generated.sh   # exit 0 when fresh; on failure run `npm run gen` and commit
set -euo pipefail
cd "$(dirname "$0")/.."

buf=node_modules/.bin/buf
[ -x "$buf" ] || buf=buf

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$buf" lint
"$buf" generate --output "$tmp"

if ! diff -r "$tmp/src/gen" src/gen; then
  echo "check-generated: src/gen is out of date with proto/; run 'npm run gen' and commit src/gen" >&2
  exit 1
fi

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  if ! git diff --exit-code HEAD -- src/gen || [ -n "$(git status --porcelain --untracked-files=all -- src/gen)" ]; then
    echo "check-generated: src/gen differs from the committed version; commit the regenerated files" >&2
    exit 1
  fi
fi
echo "check-generated: src/gen is fresh"
