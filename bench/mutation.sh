#!/usr/bin/env bash
# Mutation testing of the packages that hold the rules (SPEC §6): gremlins
# makes one small change at a time to the code (a condition negated, a
# boundary moved, + turned into -) and runs the package's own tests against
# each; a mutant the tests do not notice "lived". Not in CI: it is slow
# (each mutant builds and runs its package's tests once).
#
# Usage: bash bench/mutation.sh [package ...]        (default: account store edge)
#
#   MUTATION_FILES="account/admin.go account/revoke.go store/tokens.go edge/"
#       mutates only these files, and every file of a package named with a
#       trailing slash, for a run that fits in an afternoon on a small
#       machine; a package given but not named there is skipped. Unset:
#       every file of each package.
#   MUTATION_WORKERS (default 1), MUTATION_TIMEOUT_COEFFICIENT (default 10):
#       a mutant's tests may take this many times the coverage run's time;
#       generous, because the machine is shared and a slow run is not a kill.
#   MUTATION_SKIP (a go test -skip pattern, default none): tests whose
#       outcome depends on how busy the machine is fail now and then on a
#       loaded machine, and would count as kills (or stop the run, failing
#       in its coverage run); the 2026-12-07 run skipped
#       TestWorkersGiveWayToAFlood, since removed with giving way.
#   AIRLOCK_TEST_DATABASE_URL: when set, the tests (and so the mutants) run
#       on PostgreSQL as well as SQLite, as in CI.
#
# The report of each package goes to bench/out/mutation-<package>.{txt,json}
# (bench/out is not committed); the score is gremlins' "test efficacy":
# killed / (killed + lived), mutants no test covers left apart.
set -euo pipefail
cd "$(dirname "$0")/.."

gremlins_version=v0.6.0
gremlins=$(command -v gremlins || echo "$(go env GOPATH)/bin/gremlins")
# go install stamps the module's version in the binary (its --version says "dev").
if ! go version -m "$gremlins" 2>/dev/null | grep -q "go-gremlins/gremlins[[:space:]]*$gremlins_version"; then
	go install "github.com/go-gremlins/gremlins/cmd/gremlins@$gremlins_version"
	gremlins="$(go env GOPATH)/bin/gremlins"
fi

# gremlins times each mutant against its coverage run: that run must
# really run the tests, never answer from the test cache.
export GOFLAGS="-count=1"
skip=${MUTATION_SKIP:-}
[ -z "$skip" ] || GOFLAGS="$GOFLAGS -skip=$skip"
echo "GOFLAGS=$GOFLAGS"
if [ -n "${AIRLOCK_TEST_DATABASE_URL:-}" ]; then
	echo "tests run on SQLite and on PostgreSQL ($AIRLOCK_TEST_DATABASE_URL)"
else
	echo "tests run on SQLite only (AIRLOCK_TEST_DATABASE_URL not set)"
fi

mkdir -p bench/out
packages=("$@")
[ ${#packages[@]} -gt 0 ] || packages=(account store edge)
for pkg in "${packages[@]}"; do
	args=(unleash "./$pkg" --workers "${MUTATION_WORKERS:-1}"
		--timeout-coefficient "${MUTATION_TIMEOUT_COEFFICIENT:-10}"
		--output "bench/out/mutation-$pkg.json")
	if [ -n "${MUTATION_FILES:-}" ] && [[ " $MUTATION_FILES " != *" $pkg/ "* ]]; then
		# Scoped: every file of the package not named is excluded.
		keep=0
		for f in "$pkg"/*.go; do
			case "$f" in *_test.go) continue ;; esac
			if [[ " $MUTATION_FILES " == *" $f "* ]]; then
				keep=1
			else
				args+=(--exclude-files "^$(basename "$f" .go)\\.go\$")
			fi
		done
		[ "$keep" = 1 ] || { echo "== $pkg: no file of MUTATION_FILES, skipped"; continue; }
	fi
	echo "== $pkg ($(date -u +%FT%TZ))"
	"$gremlins" "${args[@]}" 2>&1 | tee "bench/out/mutation-$pkg.txt" | grep -E 'LIVED|TIMED OUT|NOT VIABLE|Killed|Mutator|efficacy|Timed out|Not covered|Elapsed' || true
done
