#!/usr/bin/env bash
# npm test's pretest: the tools the tests drive that npm cannot install. Installs the missing ones with apt-get when
# run as root on Debian (as CI and these machines are); otherwise names the packages and the command, and stops.
# Never downloads a browser build: the page tests use Debian's Chromium.
set -euo pipefail

# overridable so that tests/scripts/check-test-tools.test.ts can act out a machine without them
apt_get=${OMS_TEST_TOOLS_APT:-apt-get}
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
uid=${OMS_TEST_TOOLS_UID:-$(id -u)}

missing=()
why=()
command -v redis-server >/dev/null 2>&1 || { missing+=(redis-server); why+=("redis-server: every store test spawns its own"); }
command -v redis-cli >/dev/null 2>&1 || { missing+=(redis-tools); why+=("redis-tools: redis-cli joins the test clusters"); }
command -v openssl >/dev/null 2>&1 || { missing+=(openssl); why+=("openssl: the Redis TLS tests make their own CA"); }
[[ -x $chromium ]] || { missing+=(chromium); why+=("chromium: the reset page's tests run in a real browser"); }

((${#missing[@]} == 0)) && exit 0

if [[ $uid == 0 ]] && command -v "$apt_get" >/dev/null 2>&1; then
  echo "npm test: installing Debian packages the tests need: ${missing[*]}"
  printf '  %s\n' "${why[@]}"
  "$apt_get" update -qq
  DEBIAN_FRONTEND=noninteractive "$apt_get" install -y -qq "${missing[@]}"
  exit 0
fi

{
  echo "npm test needs these Debian packages, which are missing: ${missing[*]}"
  printf '  %s\n' "${why[@]}"
  echo "Install them, then run npm test again:"
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
} >&2
exit 1
