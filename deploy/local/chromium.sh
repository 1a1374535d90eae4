#!/usr/bin/env bash
# The browser the console's tests drive: Debian's chromium and its chromedriver.
# Installs both with apt when missing (as root, like postgres.sh installs PostgreSQL);
# prints the two paths. CHROMIUM / CHROMEDRIVER may name other binaries. With --if-possible
# (`make test`), a machine that cannot install them is told so and the script succeeds.
set -euo pipefail
LOG_PREFIX=chromium
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/env.sh"

CHROMIUM="${CHROMIUM:-$(command -v chromium || true)}"
CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver || true)}"
if [ -z "$CHROMIUM" ] || [ -z "$CHROMEDRIVER" ]; then
  if [ "${1:-}" = "--if-possible" ]; then
    # `make test`: without root or apt the browser tests skip (saying why); the run goes on.
    if ! is_root || ! command -v apt-get >/dev/null 2>&1 || ! (apt_install chromium chromium-driver); then
      log "chromium/chromedriver missing and not installable here (needs root and apt-get):" \
        "the browser tests will be skipped; run 'make browser' as root, or set CHROMIUM and CHROMEDRIVER"
      exit 0
    fi
  else
    apt_install chromium chromium-driver
  fi
  CHROMIUM="$(command -v chromium)"
  CHROMEDRIVER="$(command -v chromedriver)"
fi
log "browser: $CHROMIUM, driver: $CHROMEDRIVER"
