#!/bin/sh
# What only the tests need: Debian's Chromium for the browser tests (playwright-core drives it;
# `npx playwright install` downloads from outside the npm registry and fails offline).
set -eu
if ! command -v chromium >/dev/null 2>&1; then
  echo "fenshen tests: installing Debian's chromium"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
