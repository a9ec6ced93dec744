#!/usr/bin/env bash
# test.sh - install what is missing, build, and run the whole test suite:
# unit and end-to-end tests (ctest), the same under ASan+UBSan, a short
# libFuzzer run of every fuzz target, and valgrind on the CLI paths.
# FUZZ_SECONDS (default 40) sets the fuzzing time per target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc)
export CL_TEST_TMP=${CL_TEST_TMP:-$PWD/build-test-tmp}
rm -rf "$CL_TEST_TMP"; mkdir -p "$CL_TEST_TMP"; chmod 1777 "$CL_TEST_TMP"

echo "== build (Release, as the quick start builds it, with debug info) and test"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-g -DCL_TESTS=ON -DCL_FUZZ=OFF \
	>/dev/null
cmake --build build -j"$jobs" >/dev/null
(cd build && ctest --output-on-failure -j"$jobs") | tee "$CL_TEST_TMP/ctest.log"
ntests=$(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' "$CL_TEST_TMP/ctest.log")

echo "== build and test under ASan+UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCL_SANITIZE=ON -DCL_TESTS=ON >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs")

echo "== fuzz (libFuzzer, ${FUZZ_SECONDS:-40}s per target)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DCL_FUZZ=ON -DCL_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" >/dev/null
nfuzz=0
for f in build-fuzz/tests/fuzz/fuzz_*; do
	nfuzz=$((nfuzz + 1))
	name=$(basename "$f")
	work=$(mktemp -d)
	cp -r "tests/fuzz/corpus/$name/." "$work/"
	"$f" -max_total_time="${FUZZ_SECONDS:-40}" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=0 "$work" 2>"$work.log" ||
		{ tail -50 "$work.log"; echo "fuzz target $name failed"; exit 1; }
	echo "$name: $(grep -c . <(ls "$work")) corpus inputs, no crash"
	rm -rf "$work" "$work.log"
done

echo "== valgrind on the CLI"
bash tests/valgrind.sh build/certledger
# unit + e2e + corpus replays twice (plain and sanitized), fuzz targets, valgrind
echo "all stages: $((2 * ntests + nfuzz + 1)) passed, 0 failed"
