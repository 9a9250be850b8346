#!/usr/bin/env bash
# System packages outside the venv. Idempotent; never fails the build: what cannot be installed is reported
# in one line and the pipeline degrades gracefully (the ks_palp_check stage skips the label check).
#   PALP (Debian package palp): poly-4d.x recomputes the Hodge numbers of the KS polytopes.
set -u

if command -v poly-4d.x >/dev/null 2>&1; then
    echo "setup-system: PALP found at $(command -v poly-4d.x)"
    exit 0
fi

if [ "${EUID}" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup-system: installing PALP (Debian package palp) with apt-get"
    if DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq palp >/dev/null \
        && command -v poly-4d.x >/dev/null 2>&1; then
        echo "setup-system: PALP installed at $(command -v poly-4d.x)"
        exit 0
    fi
    echo "setup-system: PALP unavailable (apt-get install palp failed); the ks_palp_check stage will skip the label check"
    exit 0
fi

if [ "${EUID}" -ne 0 ]; then
    why="not root; run: sudo apt-get install palp"
else
    why="no apt-get; install PALP 2.20 so that poly-4d.x is on PATH"
fi
echo "setup-system: PALP (poly-4d.x) unavailable ($why); the ks_palp_check stage will skip the label check"
exit 0
