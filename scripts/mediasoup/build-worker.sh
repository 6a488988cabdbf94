#!/bin/sh
# Builds mediasoup's worker binary from the sources in the npm package, offline, against Debian's
# libraries, into node_modules/mediasoup/worker/out/Release/mediasoup-worker (where mediasoup looks
# when MEDIASOUP_WORKER_BIN is unset). Run by scripts/setup.sh after `npm ci`, which skips
# mediasoup's own postinstall (it downloads a prebuilt worker or the libraries' sources from GitHub).
#
# The binary is cached outside the clone, keyed by the mediasoup version and by this script, its
# patches and its subproject stubs:
#   ${FENSHEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fenshen}/mediasoup-worker/<version>-<hash12>/
# A cache hit only copies the binary. A build takes about 8 minutes on 2 cores.
#
# How the build works without downloads:
# - subprojects/<wrap>/: for each meson wrap the worker uses, a stub project declaring the Debian
#   library (pkg-config) under the variable names the worker's meson.build reads (and the options
#   it passes); it is copied to the folder the .wrap file names (`directory = ...`), so
#   `meson setup --wrap-mode=nodownload` uses it and downloads nothing.
# - patches/*.patch (patch -p1 in the worker folder): meson.build for meson 1.0.1 and shared system
#   libraries, the libsrtp3 -> libsrtp2 adaptation, and a fix of a DTLS crash. Each says why.
set -eu
cd "$(dirname "$0")/../.."
here=scripts/mediasoup
ms=node_modules/mediasoup
dest=$ms/worker/out/Release/mediasoup-worker

log() { echo "fenshen setup: mediasoup: $*"; }
die() { echo "fenshen setup: mediasoup: error: $*" >&2; exit 1; }

[ -f "$ms/package.json" ] || die "$ms is missing; run npm ci first"
version=$(node -p 'require("./node_modules/mediasoup/package.json").version')
case "$version" in
  *[!0-9A-Za-z.+-]* | "") die "unexpected mediasoup version '$version' in $ms/package.json" ;;
esac

# Debian build dependencies: "pkg-config module:apt package" for libraries, "command:apt package"
# for tools. Only what is missing is installed (apt-get, through sudo when not root).
tools="meson:meson ninja:ninja-build pkg-config:pkg-config flatc:flatbuffers-compiler patch:patch cc:g++ c++:g++"
libs="libuv:libuv1-dev libssl:libssl-dev libcrypto:libssl-dev libsrtp2:libsrtp2-dev usrsctp:libusrsctp-dev
absl_flat_hash_map:libabsl-dev absl_flat_hash_set:libabsl-dev absl_btree:libabsl-dev absl_inlined_vector:libabsl-dev
absl_memory:libabsl-dev absl_strings:libabsl-dev absl_optional:libabsl-dev flatbuffers:libflatbuffers-dev"
has_lib() { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$1"; }
missing() { # prints the apt packages of what is missing, once each
  out=""
  for pair in $tools; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || case " $out " in *" ${pair#*:} "*) ;; *) out="$out ${pair#*:}" ;; esac
  done
  for pair in $libs; do
    has_lib "${pair%%:*}" || case " $out " in *" ${pair#*:} "*) ;; *) out="$out ${pair#*:}" ;; esac
  done
  echo "$out"
}
need=$(missing)
if [ -n "$need" ]; then
  log "installing Debian packages:$need"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086 # $need is a list of fixed package names from above
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
for pair in $tools; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || die "'${pair%%:*}' is still missing (apt-get install ${pair#*:})"
done
for pair in $libs; do
  has_lib "${pair%%:*}" || die "library '${pair%%:*}' is still missing: pkg-config --exists ${pair%%:*} fails (apt-get install ${pair#*:})"
done

# Cache key: the mediasoup version, and what this build is made of (paths relative, so the hash
# does not depend on where the clone is).
hash=$(cd "$here" && find build-worker.sh patches subprojects -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)
cachedir=${FENSHEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fenshen}/mediasoup-worker/$version-$hash
cached=$cachedir/mediasoup-worker

usable() { [ -f "$1" ] && [ -x "$1" ] && ! ldd "$1" 2>/dev/null | grep -q "not found"; }
install_to_node_modules() {
  mkdir -p "$(dirname "$dest")"
  cp "$cached" "$dest.tmp.$$"
  mv -f "$dest.tmp.$$" "$dest"
}

if usable "$cached"; then
  install_to_node_modules
  log "worker $version from cache ($cached)"
  exit 0
fi

tmp=""
cleanup() { if [ -n "$tmp" ]; then rm -rf "$tmp"; fi; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fenshen-mediasoup-worker.XXXXXX")
log "building worker $version from source against Debian's libraries (about 8 minutes on 2 cores)"

cp -R "$ms/worker" "$tmp/worker"
rm -rf "$tmp/worker/out"

# Subproject stubs, each in the folder its .wrap file names (`directory = ...`).
for stub in "$here"/subprojects/*/; do
  name=$(basename "$stub")
  wrap=$tmp/worker/subprojects/$name.wrap
  [ -f "$wrap" ] || die "mediasoup $version has no subprojects/$name.wrap; update $stub"
  dir=$(sed -n 's/^directory[[:space:]]*=[[:space:]]*//p' "$wrap" | head -n 1 | tr -d '[:space:]')
  case "$dir" in
    "" | . | .. | *[!0-9A-Za-z._-]*) die "unexpected directory '$dir' in subprojects/$name.wrap" ;;
  esac
  mkdir -p "$tmp/worker/subprojects/$dir"
  cp "$stub"* "$tmp/worker/subprojects/$dir/"
done

for p in "$here"/patches/*.patch; do
  patch -p1 -s --forward -d "$tmp/worker" <"$p" || die "$p does not apply to mediasoup $version"
done

buildlog=$tmp/build.log
fail() {
  echo "fenshen setup: mediasoup: $1 failed; last lines of the log:" >&2
  tail -n 60 "$buildlog" >&2
  exit 1
}
log "meson setup"
meson setup --wrap-mode=nodownload --buildtype=release -Db_ndebug=true -Dms_disable_liburing=true \
  "$tmp/build" "$tmp/worker" >"$buildlog" 2>&1 || fail "meson setup"
# The flatbuffers headers first: ninja does not know which sources include them.
log "ninja: flatbuffers headers, then mediasoup-worker"
ninja -C "$tmp/build" -j2 fbs/FBS >>"$buildlog" 2>&1 || fail "flatbuffers headers (ninja fbs/FBS)"
ninja -C "$tmp/build" -j2 mediasoup-worker >>"$buildlog" 2>&1 || fail "ninja mediasoup-worker"
built=$tmp/build/mediasoup-worker
usable "$built" || die "the built $built is not usable (ldd: $(ldd "$built" 2>&1 | grep 'not found' | head -n 1))"

mkdir -p "$cachedir"
cp "$built" "$cached.tmp.$$"
mv -f "$cached.tmp.$$" "$cached"
install_to_node_modules
log "worker $version built and cached ($cached)"
