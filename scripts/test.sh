#!/bin/sh
# Runs the test suite: type check, unit tests, then end-to-end tests against real ffmpeg and RTMP.
set -eu
cd "$(dirname "$0")/.."
sh scripts/test-deps.sh
npx tsc -p tsconfig.json --noEmit
npx tsc -p client/tsconfig.json
# The browser bundle the viewer-page tests load, from the current sources.
node scripts/build-client.mjs
sh scripts/tuned.sh node --import tsx --test --test-concurrency=1 --test-timeout=120000 test/unit/*.test.ts
# The timeout is a file's (it guards against a hang): the clone file builds a clone and renders videos with it, ~3 min.
sh scripts/tuned.sh node --import tsx --test --test-concurrency=1 --test-timeout=300000 test/e2e/*.test.ts
