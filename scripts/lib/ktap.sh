# shellcheck shell=bash
# shellcheck disable=SC2034 # KTAP_* are read by the sourcing driver
# KTAP for ctskip's tests (sourced by tests/vm/lib.sh, tests/harness/run,
# tests/packaging/*.sh, scripts/lint and scripts/check): one place that
# writes results and one that counts them.
#
# Writing, in a test:
#   ktap_plan N          declares the plan first ("1..N")
#   ktap_ok WHAT         "ok K - WHAT"
#   ktap_not_ok WHAT     "not ok K - WHAT"
#   ktap_skip WHAT WHY   "ok K - WHAT # SKIP WHY"
#   ktap_skip_all WHY    "1..0 # SKIP WHY": the whole test could not run here
#   ktap_bail WHY        "Bail out! WHY" and exit 1
#   ktap_done            ends the test: a count that differs from the declared
#                        plan is one more "not ok"; with no plan declared it
#                        prints "1..K"; returns 1 on any failure
# Counting, in a driver:
#   ktap_tally FILE [STRICT]
#                        sets KTAP_PASS, KTAP_FAIL, KTAP_SKIP from FILE's
#                        result lines at column 0; a "# SKIP" is a skip, not a
#                        pass (a failure when STRICT is 1); a missing plan, a
#                        plan after the first result, a plan the lines do not
#                        match, or "Bail out!" is one
#                        more failure, named in KTAP_PROBLEM (unless the test
#                        said so itself with ktap_done's "not ok - plan:").

_ktap_n=0
_ktap_failed=0
_ktap_plan=

ktap_header() { echo "TAP version 13"; }
ktap_plan() { _ktap_plan=$1; echo "1..$1"; }
ktap_ok() { _ktap_n=$((_ktap_n + 1)); echo "ok $_ktap_n - $*"; }
ktap_not_ok() { _ktap_n=$((_ktap_n + 1)); _ktap_failed=$((_ktap_failed + 1)); echo "not ok $_ktap_n - $*"; }
ktap_skip() { _ktap_n=$((_ktap_n + 1)); echo "ok $_ktap_n - $1 # SKIP $2"; }
ktap_skip_all() { _ktap_plan=0; echo "1..0 # SKIP $*"; }
ktap_bail() { echo "Bail out! $*"; exit 1; }
ktap_done() {
	if [ -z "$_ktap_plan" ]; then
		echo "1..$_ktap_n"
	elif [ "$_ktap_plan" != "$_ktap_n" ]; then
		# Not numbered: it is not one of the planned results.
		echo "not ok - plan: declared $_ktap_plan results, ran $_ktap_n (the test stopped early or skipped a block)"
		_ktap_failed=$((_ktap_failed + 1))
	fi
	[ $_ktap_failed -eq 0 ]
}

ktap_tally() {
	local file=$1 strict=${2:-0} plans planned lines plan_at first_at
	KTAP_PASS=0 KTAP_FAIL=0 KTAP_SKIP=0 KTAP_PROBLEM=
	[ -r "$file" ] || { KTAP_FAIL=1 KTAP_PROBLEM="no results"; return; }
	KTAP_SKIP=$(grep -cE '^ok [0-9]*( - [^#]*)? *# *SKIP' "$file")
	KTAP_PASS=$(( $(grep -c '^ok ' "$file") - KTAP_SKIP ))
	KTAP_FAIL=$(grep -c '^not ok ' "$file")
	if grep -qE '^1\.\.0 *# *SKIP' "$file"; then
		KTAP_SKIP=$((KTAP_SKIP + 1))
	fi
	if [ "$strict" = 1 ] && [ "$KTAP_SKIP" -gt 0 ]; then
		KTAP_FAIL=$((KTAP_FAIL + KTAP_SKIP)) KTAP_SKIP=0
		KTAP_PROBLEM="skipped where it must run"
	fi
	plans=$(grep -cE '^1\.\.[0-9]+' "$file")
	plan_at=$(grep -m1 -nE '^1\.\.[0-9]+' "$file" | cut -d: -f1)
	first_at=$(grep -m1 -nE '^(not )?ok ' "$file" | cut -d: -f1)
	planned=$(grep -m1 -oE '^1\.\.[0-9]+' "$file" | cut -d. -f3)
	lines=$(grep -cE '^(not )?ok [0-9]+ ' "$file")
	if grep -q '^Bail out!' "$file"; then
		KTAP_FAIL=$((KTAP_FAIL + 1)) KTAP_PROBLEM="bailed out: $(grep -m1 '^Bail out!' "$file" | cut -c11-)"
	elif [ "$plans" -ne 1 ]; then
		KTAP_FAIL=$((KTAP_FAIL + 1)) KTAP_PROBLEM="$plans plan lines (one is declared; none means the test stopped before its plan)"
	elif [ -n "$first_at" ] && [ "$plan_at" -gt "$first_at" ]; then
		KTAP_FAIL=$((KTAP_FAIL + 1)) KTAP_PROBLEM="the plan comes after the first result (a plan is declared before the checks run)"
	elif [ "$planned" -ne "$lines" ] && ! grep -q '^not ok - plan: ' "$file"; then
		KTAP_FAIL=$((KTAP_FAIL + 1)) KTAP_PROBLEM="plan 1..$planned but $lines numbered results (the test stopped early or skipped a block)"
	fi
}
