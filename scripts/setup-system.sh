#!/usr/bin/env bash
# System packages outside the venv. Idempotent; never fails the build: what cannot be installed is reported
# in one line and the pipeline degrades gracefully.
#   PALP (Debian package palp): poly-4d.x recomputes the Hodge numbers of the KS polytopes (else the
#     ks_palp_check stage skips the label check).
#   Chromium (Debian package chromium): renders reports/index.html headless in a test (else that test skips).
set -u

apt_updated=0

# apt_install PACKAGE COMMAND WHAT CONSEQUENCE: install PACKAGE with apt-get (as root) unless COMMAND is on PATH.
apt_install() {
    local package=$1 command=$2 what=$3 consequence=$4
    if command -v "$command" >/dev/null 2>&1; then
        echo "setup-system: $what found at $(command -v "$command")"
        return 0
    fi
    if [ "${EUID}" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup-system: installing $what (Debian package $package) with apt-get"
        if [ "$apt_updated" -eq 0 ]; then
            DEBIAN_FRONTEND=noninteractive apt-get update -qq && apt_updated=1
        fi
        if [ "$apt_updated" -eq 1 ] \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null \
            && command -v "$command" >/dev/null 2>&1; then
            echo "setup-system: $what installed at $(command -v "$command")"
            return 0
        fi
        echo "setup-system: $what unavailable (apt-get install $package failed); $consequence"
        return 0
    fi
    local why
    if [ "${EUID}" -ne 0 ]; then
        why="not root; run: sudo apt-get install $package"
    else
        why="no apt-get; install $what so that $command is on PATH"
    fi
    echo "setup-system: $what ($command) unavailable ($why); $consequence"
    return 0
}

apt_install palp poly-4d.x "PALP" "the ks_palp_check stage will skip the label check"
apt_install chromium chromium "Chromium" "the headless rendering test of reports/index.html will skip"
exit 0
