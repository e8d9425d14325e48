#!/usr/bin/env bash
# What the test suite needs from the system besides Python packages (`make test` and `.ci/run`
# run this first):
#   - PostgreSQL's server binaries (initdb, pg_ctl): the suite starts its own server
#     (tests/support/postgres.py looks on PATH, then in /usr/lib/postgresql/*/bin);
#   - Chromium (`chromium` on PATH, Debian's package): the admin console's browser tests;
#   - promtool (Debian's `prometheus` package): the unit tests of the shipped alert rules.
# Present: nothing happens. Missing, as root on a system with apt-get: installed. Otherwise it
# stops at once with one line naming the command to run, and exits 1: never a late error halfway
# through the suite.
set -euo pipefail

# Where the Debian layout keeps PostgreSQL's server binaries (a glob: one directory per version).
PG_BIN_DIRS=${SYSTEM_DEPS_PG_BIN_DIRS:-/usr/lib/postgresql/*/bin}

have_postgres() {
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && return 0
  local dir
  for dir in $PG_BIN_DIRS; do  # unquoted on purpose: the glob expands here
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then return 0; fi
  done
  return 1
}
have_chromium() { command -v chromium >/dev/null 2>&1; }
have_promtool() { command -v promtool >/dev/null 2>&1; }

# The Debian packages of what is missing. Plain bash only (no other command is needed to tell).
missing() {
  have_postgres || echo postgresql
  have_chromium || echo chromium
  have_promtool || echo prometheus
}

wanted=$(missing)
[ -z "$wanted" ] && exit 0
wanted=${wanted//$'\n'/ }

if [ "$EUID" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "make test needs the Debian packages $wanted: run 'sudo tools/system-deps.sh' (or 'sudo apt-get install $wanted'), then make test again" >&2
  else
    what=()
    for package in $wanted; do
      case $package in
        postgresql) what+=("PostgreSQL's server binaries (initdb, pg_ctl)") ;;
        chromium) what+=("Chromium (as chromium on PATH)") ;;
        prometheus) what+=("promtool (Prometheus)") ;;
      esac
    done
    joined=$(IFS=';'; echo "${what[*]}")
    echo "make test needs ${joined//;/, } and this system has no apt-get: install them with its package manager, then make test again" >&2
  fi
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "installing $wanted with apt-get for the test suite"
apt-get update -qq
for package in $wanted; do
  case $package in
    # Without recommends: it recommends a node exporter, a service nobody here asked for.
    prometheus) apt-get install -y -qq --no-install-recommends prometheus >/dev/null
      # Only promtool is wanted: where the package started its Prometheus server, stop it again.
      if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
        systemctl disable --now --quiet prometheus || true
      elif [ -x /etc/init.d/prometheus ]; then
        /etc/init.d/prometheus stop >/dev/null 2>&1 || true
      fi ;;
    # With recommends: Chromium's fonts; PostgreSQL's client tools.
    *) apt-get install -y -qq "$package" >/dev/null ;;
  esac
done

still=$(missing)
if [ -n "$still" ]; then
  echo "apt-get installed $wanted, yet what ${still//$'\n'/, } provides is still not found (initdb and pg_ctl, chromium, promtool)" >&2
  exit 1
fi
