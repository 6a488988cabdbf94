#!/bin/sh
# What only the tests need on top of set-up (Debian's chromium for the browser tests, espeak-ng for the
# HTTP-voice stand-in, ps/ss/getconf), from the one list in scripts/system-deps.mjs. Then two checks that fail
# loudly, naming the package: everything on the list is installed, and nothing the code or tests spawn is
# missing from the list. (`npx playwright install` downloads from outside the npm registry and fails offline.)
set -eu
cd "$(dirname "$0")/.."
need=$(node scripts/system-deps.mjs missing test)
if [ -n "$need" ]; then
  echo "fenshen tests: installing Debian packages: $need"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
node scripts/system-deps.mjs check test
node scripts/system-deps.mjs scan
sh scripts/fetch-media.sh
