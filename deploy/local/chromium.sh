#!/usr/bin/env bash
# The browser the console's tests drive: Debian's chromium and its chromedriver.
# Installs both with apt when missing (as root, like postgres.sh installs PostgreSQL);
# prints the two paths. CHROMIUM / CHROMEDRIVER may name other binaries.
set -euo pipefail
LOG_PREFIX=chromium
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/env.sh"

CHROMIUM="${CHROMIUM:-$(command -v chromium || true)}"
CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver || true)}"
if [ -z "$CHROMIUM" ] || [ -z "$CHROMEDRIVER" ]; then
  apt_install chromium chromium-driver
  CHROMIUM="$(command -v chromium)"
  CHROMEDRIVER="$(command -v chromedriver)"
fi
log "browser: $CHROMIUM, driver: $CHROMEDRIVER"
