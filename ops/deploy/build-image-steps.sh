#!/usr/bin/env bash
# The container image's build steps, as one script: the image's build stage runs it, and so does
# test/package-install.test.ts, so the recipe cannot drift from what is tested.
#   build-image-steps.sh <prefix>
# From the repository root: installs the dependencies if they are missing (npm ci), packs the
# package (`npm pack` builds dist/ first), and installs that tarball globally under <prefix>
# (<prefix>/bin/openclawmu, <prefix>/lib/node_modules/openclawmu), production dependencies only.
set -euo pipefail
prefix=${1:?usage: build-image-steps.sh <prefix>}
cd "$(dirname "$0")/../.."

# onnxruntime-node's postinstall would fetch CUDA binaries from outside the npm registry.
export ONNXRUNTIME_NODE_INSTALL=skip

if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm pack --silent --pack-destination "$work" >/dev/null
tarball=$(ls "$work"/openclawmu-*.tgz)

# Native addons build or fetch their binaries in install scripts: allow exactly these (npm 11 runs
# no other; older npm ignores the flag and runs all, hence the onnxruntime switch above).
npm install --global --prefix "$prefix" --omit=dev --omit=optional --prefer-offline --no-audit --no-fund \
  --allow-scripts=better-sqlite3,zstd-napi "$tarball"

"$prefix/bin/openclawmu" --version
