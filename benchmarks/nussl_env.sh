#!/usr/bin/env bash
# Build nussl 1.1.9 in its own virtual environment, as a peer for fixtures and
# benchmarks (issue 11). sepkit never imports nussl: benchmarks/nussl_peer.py runs
# scripts in this venv's python as a subprocess.
#
#   bash benchmarks/nussl_env.sh            # venv at $HOME/.cache/sepkit-nussl-venv
#   NUSSL_VENV=/some/dir bash benchmarks/nussl_env.sh
#
# nussl 1.1.9 needs numpy < 1.24 and scipy < 1.13; one of its dependencies
# (sox) builds only with the Debian package libsox-dev, and prints a harmless
# "SoX could not be found" on import; another (stempeg, through museval) refuses to
# import without the ffmpeg and ffprobe programs (Debian package ffmpeg).
set -euo pipefail

V="${NUSSL_VENV:-$HOME/.cache/sepkit-nussl-venv}"
PY="${PYTHON:-python3}"

missing=()
dpkg -s libsox-dev >/dev/null 2>&1 || missing+=(libsox-dev)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
if [ ${#missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        $SUDO apt-get update
        $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
    else
        echo "nussl_env.sh: Debian packages needed: ${missing[*]}; install them first" >&2
        exit 1
    fi
fi

if [ ! -x "$V/bin/python" ]; then
    "$PY" -m venv "$V"
fi
"$V/bin/pip" install "${NUSSL_TORCH:-torch}"   # e.g. NUSSL_TORCH=torch==2.13.0 for the CPU wheel
"$V/bin/pip" install "numpy<1.24" "scipy<1.13" nussl==1.1.9 pandas scikit-learn \
    matplotlib contourpy zarr numcodecs
"$V/bin/python" - <<'PYEOF'
import numpy, scipy, nussl
print("nussl", nussl.__version__, "numpy", numpy.__version__, "scipy", scipy.__version__)
PYEOF
echo "nussl venv ready: $V"
