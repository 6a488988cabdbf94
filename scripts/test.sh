#!/bin/sh
# Runs the test suite: type check, unit tests, then end-to-end tests against real ffmpeg and RTMP.
set -eu
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json --noEmit
sh scripts/tuned.sh node --import tsx --test --test-concurrency=1 test/unit/*.test.ts
sh scripts/tuned.sh node --import tsx --test --test-concurrency=1 test/e2e/*.test.ts
