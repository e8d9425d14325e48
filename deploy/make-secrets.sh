#!/usr/bin/env bash
# Make the secret files compose.yaml mounts, once, next to compose.yaml (or in the directory given):
#   secrets/postgres_password       the database password (PostgreSQL and the application)
#   secrets/ireserve_secret_key     the Fernet key that encrypts stored secrets (every process)
#   secrets/ireserve_metrics_token  what Prometheus sends to scrape /metrics
# A file that exists is never touched: a new database password would not match the database
# made with the old one, and a new key could not open what the old one encrypted.
#
# The directory is private to you (0700). The files in it are readable (0644) because compose
# mounts them as they are into containers that run as their own users (ireserve, postgres,
# Prometheus's nobody); the directory keeps every other user of this machine out.
set -euo pipefail

dir=${1:-"$(cd "$(dirname "$0")/.." && pwd)/secrets"}
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"

random() {  # $1 bytes of the system's randomness, URL-safe base64 (no padding)
  head -c "$1" /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='
}
fernet_key() {  # 32 random bytes, URL-safe base64 with padding: what Fernet.generate_key() makes
  head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_'
}

create() {  # name, generator and its arguments
  local path="$dir/$1"
  if [ -e "$path" ]; then
    echo "kept    $path"
    return
  fi
  local temporary
  temporary=$(mktemp "$dir/.$1.XXXXXX")
  "${@:2}" > "$temporary"  # no newline after it: every reader gets the value as it is
  chmod 0644 "$temporary"
  mv -n "$temporary" "$path"
  rm -f "$temporary"
  echo "made    $path"
}

create postgres_password random 24
create ireserve_secret_key fernet_key
create ireserve_metrics_token random 32
