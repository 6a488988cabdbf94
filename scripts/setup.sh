#!/bin/sh
# One-time set-up on Debian/Ubuntu: system tools from apt (when missing), npm packages, a build.
# Safe to run again; it only installs what is absent.
set -eu
cd "$(dirname "$0")/.."

# What the server needs from Debian (ffmpeg, a CJK font, eSpeak NG's data and headers): one list, in
# scripts/system-deps.mjs, which the test command checks too.
need=$(node scripts/system-deps.mjs missing setup)
if [ -n "$need" ]; then
  echo "fenshen setup: installing Debian packages: $need"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
node scripts/system-deps.mjs check setup

echo "fenshen setup: npm packages"
if [ -f package-lock.json ]; then MEDIASOUP_WORKER_BIN=skip npm ci --no-audit --no-fund; else MEDIASOUP_WORKER_BIN=skip npm install --no-audit --no-fund; fi
sh scripts/mediasoup/build-worker.sh

echo "fenshen setup: build"
npm run build --silent
sh scripts/build-espeak-helper.sh
echo "fenshen setup: converting tracking models (tfjs → ONNX, each checked against tfjs)"
node dist/models/build.js
echo "fenshen setup: done. Start with: npm start"
