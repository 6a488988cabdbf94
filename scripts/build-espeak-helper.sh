#!/bin/sh
# Builds the eSpeak NG helper (a separate GPL-3.0 program the server talks to over pipes) into build/.
set -eu
cd "$(dirname "$0")/.."
src=pipeline/speech/espeak/fenshen-espeak.cc
out=build/fenshen-espeak
if [ -x "$out" ] && [ "$out" -nt "$src" ]; then exit 0; fi
if [ ! -f /usr/include/espeak-ng/speak_lib.h ]; then
  echo "fenshen: libespeak-ng-dev is missing (apt-get install libespeak-ng-dev); speech will not work" >&2
  exit 1
fi
mkdir -p build
g++ -O2 -Wall -o "$out.tmp" "$src" -lespeak-ng
mv "$out.tmp" "$out"
echo "fenshen setup: built $out"
