#!/usr/bin/env bash
# Front-end checks of the Tauri plugin, called by .ci/run:
#   guest-js/     `tsc` over the bindings and their contract checks;
#   settings-ui/  svelte-check, then the panel's tests in headless Chromium
#                 (Vitest browser mode, Playwright driving Debian's `chromium`).
# npm packages come from the committed lockfiles (`npm ci`); Playwright never
# downloads a browser. Without Chromium or Node this skips with a notice,
# unless CI=true, where that is a failure.
set -euo pipefail
cd "$(dirname "$0")"

missing() {
  if [ "${CI:-}" = "true" ]; then
    echo "tauri-plugin/ci.sh: FAIL: $1" >&2
    exit 1
  fi
  echo "NOTICE: tauri-plugin/ci.sh: skipping the front-end tests: $1"
  exit 0
}

find_chromium() {
  if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then echo "$CHROMIUM_PATH"; return; fi
  command -v chromium || command -v chromium-browser || true
}

command -v node >/dev/null && command -v npm >/dev/null || missing "node and npm are not installed"
# Vite 8 needs Node 20.19 or newer.
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
  missing "Node $(node --version) is older than 20.19"

chromium="$(find_chromium)"
if [ -z "$chromium" ] && command -v apt-get >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null && sudo="sudo -n"; }
  if [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; then
    echo "tauri-plugin/ci.sh: installing chromium from the Debian packages"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null || true
  fi
  chromium="$(find_chromium)"
fi
[ -n "$chromium" ] || missing "no chromium (apt-get install chromium)"
export CHROMIUM_PATH="$chromium"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

echo "tauri-plugin/ci.sh: guest-js (bindings typecheck)"
(cd guest-js && npm ci --no-audit --no-fund --loglevel=error && npm test --silent)

echo "tauri-plugin/ci.sh: settings-ui (svelte-check, browser tests with $chromium)"
(cd settings-ui && npm ci --no-audit --no-fund --loglevel=error && npm test --silent)
