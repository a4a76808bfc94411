#!/bin/bash
# Build local stand-ins for the base images docker-compose.yml names, on machines that cannot
# pull images but have Debian's docker.io and a running dockerd:
#   debian:bookworm-slim        debootstrap --variant=minbase from Debian's packages
#   python:3.11-slim-bookworm   Debian's Python 3.11 (ops/images/python)
#   apache/kafka:4.3.1          the broker jars from Maven Central (ops/images/kafka)
#   prom/prometheus:v2.42.0     Debian's prometheus package (ops/images/prometheus)
# It also builds the `docker compose` plugin from the Go module proxy when it is missing.
# Images that already exist are kept; --rebuild builds them again. grafana/grafana has no
# Debian package, so it has no stand-in: run the stack without it (README, "Containers").
# Usage: ops/images/build-stand-ins.sh [--rebuild]   (as root: debootstrap needs it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${RDV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rendezvous}/images
rebuild=${1:-}

die() { echo "build-stand-ins: $*" >&2; exit 1; }
have() { [[ $rebuild != --rebuild ]] && docker image inspect "$1" >/dev/null 2>&1; }
step() { echo "==> $*"; }

command -v docker >/dev/null || die "no docker client: apt-get install docker.io"
docker info >/dev/null 2>&1 || die "no Docker engine answers: start one with 'dockerd &' (as root)"
mkdir -p "$cache"

# Debian's docker.io has no compose v2 plugin; the Go module proxy has its source.
if ! docker compose version >/dev/null 2>&1; then
  command -v go >/dev/null || die "no 'docker compose' and no Go to build it"
  step "building the docker compose plugin from the Go module proxy (once, a few minutes)"
  GOBIN="$cache/go-bin" go install github.com/docker/compose/v2/cmd@v2.29.7 \
    >"$cache/compose-build.log" 2>&1 || die "building compose failed: see $cache/compose-build.log"
  mkdir -p /usr/local/lib/docker/cli-plugins
  install -m 0755 "$cache/go-bin/cmd" /usr/local/lib/docker/cli-plugins/docker-compose
fi

if have debian:bookworm-slim; then
  step "debian:bookworm-slim exists"
else
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
  [[ $(id -u) == 0 ]] || die "debootstrap needs root"
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  step "debootstrap bookworm (minbase) from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || die "debootstrap failed: see $cache/debootstrap.log"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  step "importing it as debian:bookworm-slim"
  tar -C "$rootfs" -c . | docker import \
    --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - debian:bookworm-slim >/dev/null
  rm -rf "$rootfs"
fi

# Builds reach Debian's mirror and PyPI through the host's network, as the machine does.
build() {
  local tag=$1 context=$2
  if have "$tag"; then step "$tag exists"; return; fi
  step "building $tag"
  docker build --network host -t "$tag" "$context" >"$cache/build-${tag//[\/:]/_}.log" 2>&1 \
    || die "building $tag failed: see $cache/build-${tag//[\/:]/_}.log"
}

# The machine's own extra certificate authorities (an egress proxy's, say) go into the Python
# stand-in, so pip in `docker compose build` reaches PyPI as pip on the machine does.
mkdir -p "$here/python/certs"
cp /usr/local/share/ca-certificates/*.crt "$here/python/certs/" 2>/dev/null || true
build python:3.11-slim-bookworm "$here/python"
rm -rf "$here/python/certs"
build prom/prometheus:v2.42.0 "$here/prometheus"

if ! have apache/kafka:4.3.1; then
  step "resolving the Kafka jars with Maven"
  rm -rf "$here/kafka/libs"
  mvn -q -f "$here/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$here/kafka/libs" -DincludeScope=runtime \
    || die "Maven could not resolve the Kafka jars"
fi
build apache/kafka:4.3.1 "$here/kafka"
rm -rf "$here/kafka/libs"
step "stand-ins ready: $(docker images --format '{{.Repository}}:{{.Tag}}' | grep -E 'debian|python|kafka|prometheus' | tr '\n' ' ')"
