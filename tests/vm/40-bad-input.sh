#!/bin/bash
# Thousands of generated writes (garbage, NUL, overlong lines and words, a
# full page, out-of-range values, misplaced and repeated keywords,
# non-ASCII) and insmod parameters, each checked against the host model.
. "$(dirname "$0")/lib.sh"
plan 3
MODEL=$TESTS_DIR/../host/target/release/ctskip-model
[ -x "$MODEL" ] || { not_ok "model binary missing: build tests/host (cargo build --release)"; done_testing; exit; }
load || { not_ok "insmod"; done_testing; exit; }
seed=${CTSKIP_SEED:-$RANDOM}
echo "# seed $seed (CTSKIP_SEED=$seed repeats this run)"
# Re-emit the driver's KTAP lines as this test's own.
while IFS= read -r line; do
	case $line in
	"ok "*) ok "${line#ok * - }";;
	"not ok "*) not_ok "${line#not ok * - }";;
	"1.."*) ;;
	*) echo "$line";;
	esac
done < <(python3 "$TESTS_DIR/badinput.py" "$MODEL" "$KO" ${CTSKIP_BADINPUT_WRITES:-2000} ${CTSKIP_BADINPUT_INSMODS:-60} $seed)
check "module unloaded after the insmod series" test ! -e $SYS
done_testing
