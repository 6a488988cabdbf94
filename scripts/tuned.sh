#!/bin/sh
# Runs a command with glibc's allocator told to keep freed memory: the live loop reads a multi-megabyte
# picture out of Skia every frame, and with the default thresholds each one is a fresh mmap whose page
# faults cost more CPU than drawing the frame (measured: ~4.5 ms a frame at 720x1280 on a 2-core VM).
export GLIBC_TUNABLES="${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=536870912"
exec "$@"
