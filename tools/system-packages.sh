#!/usr/bin/env bash
# The Debian packages the tests use besides Python: a PostgreSQL server (the tests start their own
# throwaway cluster on loopback, tests/support/postgres.py), Chromium with its driver (the
# report-page test) and systemd's `systemd-analyze` (the test of deploy/systemd/'s units). `make test` runs this first, because a test that needs a component must fail,
# not skip quietly.
#
#   all present                 silent, exit 0, no apt call
#   missing, root with apt-get  installs the missing packages (CI: a fresh Debian 12, as root)
#   missing, otherwise          one line naming the packages to install, exit 1
#
# The locations are overridable, to try the missing paths without uninstalling anything:
#   CALLHOUSE_PG_LIB        where Debian keeps its versioned server binaries (/usr/lib/postgresql)
#   CALLHOUSE_CHROMIUM      (/usr/bin/chromium)
#   CALLHOUSE_CHROMEDRIVER  (/usr/bin/chromedriver)
#   CALLHOUSE_SYSTEMD_ANALYZE  (/usr/bin/systemd-analyze)
#   CALLHOUSE_APT_GET       the apt-get command ("echo apt-get" shows what would run)
set -euo pipefail

PG_LIB=${CALLHOUSE_PG_LIB:-/usr/lib/postgresql}
CHROMIUM=${CALLHOUSE_CHROMIUM:-/usr/bin/chromium}
CHROMEDRIVER=${CALLHOUSE_CHROMEDRIVER:-/usr/bin/chromedriver}
SYSTEMD_ANALYZE=${CALLHOUSE_SYSTEMD_ANALYZE:-/usr/bin/systemd-analyze}
read -ra APT_GET <<<"${CALLHOUSE_APT_GET:-apt-get}"
POLICY_RC_D=/usr/sbin/policy-rc.d

# The server tools and psql of one installation: Debian keeps them off PATH in
# /usr/lib/postgresql/<major>/bin; other systems have them on PATH.
have_postgres() {
    local dir
    for dir in "$PG_LIB"/*/bin; do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres && -x $dir/psql ]]; then
            return 0
        fi
    done
    local tool
    for tool in initdb pg_ctl postgres psql; do
        command -v "$tool" >/dev/null 2>&1 || return 1
    done
}

missing_packages() {
    have_postgres || echo postgresql
    [[ -x $CHROMIUM ]] || echo chromium
    [[ -x $CHROMEDRIVER ]] || echo chromium-driver
    [[ -x $SYSTEMD_ANALYZE ]] || echo systemd
}

# Debian's postgresql package creates a system cluster and starts it on port 5432. The tests start
# their own servers, so no service may start during the install (policy-rc.d 101 = "forbidden",
# honoured by invoke-rc.d and deb-systemd-invoke). One we did not write is left alone; one a killed
# run of ours left behind is replaced and removed.
forbid_service_starts() {
    local marker="written by callhouse tools/system-packages.sh"
    if [[ -e $POLICY_RC_D ]] && ! grep -qF "$marker" "$POLICY_RC_D"; then
        return 0
    fi
    printf '#!/bin/sh\n# %s for one apt-get install\nexit 101\n' "$marker" >"$POLICY_RC_D"
    chmod 755 "$POLICY_RC_D"
    trap 'rm -f "$POLICY_RC_D"' EXIT
}

# A policy-rc.d we did not write may allow starts: stop any cluster the install left running
# (PostgreSQL was missing before, so every running cluster is the install's).
stop_system_clusters() {
    command -v pg_lsclusters >/dev/null 2>&1 || return 0
    local version name _port status _rest
    while read -r version name _port status _rest; do
        if [[ $status == online* ]]; then
            pg_ctlcluster "$version" "$name" stop || true
        fi
    done < <(pg_lsclusters --no-header 2>/dev/null || true)
}

mapfile -t missing < <(missing_packages)
((${#missing[@]})) || exit 0

if [[ $(id -u) != 0 ]] || ! command -v "${APT_GET[0]}" >/dev/null 2>&1; then
    echo "the tests need Debian packages that are not installed: ${missing[*]}; as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "installing Debian packages the tests need: ${missing[*]}"
log=$(mktemp)
forbid_service_starts
export DEBIAN_FRONTEND=noninteractive
status=0
{
    "${APT_GET[@]}" update &&
        "${APT_GET[@]}" install -y --no-install-recommends "${missing[@]}"
} >"$log" 2>&1 || status=$?
if [[ " ${missing[*]} " == *" postgresql "* ]]; then
    stop_system_clusters
fi

# What counts is what the tests find: a maintainer script that fails after unpacking (no init
# system in a container) must not fail the tests, a package that is still missing must.
mapfile -t still < <(missing_packages)
if ((${#still[@]})); then
    tail -n 20 "$log" >&2
    echo "apt-get install did not provide: ${still[*]} (exit $status; full log: $log)" >&2
    exit 1
fi
if ((status)); then
    echo "apt-get exited $status but the tests' packages are installed (log: $log)" >&2
else
    rm -f "$log"
fi
