#!/usr/bin/env bash
# Regenerates docs/screenshots/: the main pages as a newcomer will see them,
# on a desktop in English and French and on a phone, taken by the
# accessibility test (cmd/airlock/a11y_test.go, Chromium through chromedp)
# on the embedded defaults. Needs Chromium (Debian: apt-get install
# chromium) and npm (for axe-core, which the same test runs); about two
# minutes. Usage: bash docs/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm install --prefix "$tmp/axe" --no-save --no-audit --no-fund --loglevel=error axe-core@4.14.1
AIRLOCK_TEST_AXE="$tmp/axe/node_modules/axe-core/axe.min.js" AIRLOCK_ARTIFACTS="$tmp/shots" \
  go test -count=1 -run '^TestAccessibility$' ./cmd/airlock

mkdir -p docs/screenshots
rm -f docs/screenshots/*.png
for lang in en fr; do
  for page in login forgot-sent reset account admin-users admin-user admin-apps two-factor-enrol; do
    cp "$tmp/shots/a11y-$lang-desktop-$page.png" "docs/screenshots/$lang-desktop-$page.png"
  done
done
for page in login reset account two-factor-enrol; do
  cp "$tmp/shots/a11y-en-phone-$page.png" "docs/screenshots/en-phone-$page.png"
done
ls docs/screenshots
