#!/usr/bin/env bash
# Runs the whole test suite: installs what is needed, lints, type-checks, builds and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm test
