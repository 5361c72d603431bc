#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) and writes a markdown table of
# executions, coverage and crashes to fuzz/report.md, or $REPORT (and stdout).
#
#   fuzz/run_all.sh 600            # ten minutes per target
#   TARGETS="dns_udp http" fuzz/run_all.sh 60
#   SKIP_BUILD=1 REPORT=/tmp/r.md fuzz/run_all.sh 60   # targets already built
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); the stable toolchain takes libFuzzer's
# nightly flags with RUSTC_BOOTSTRAP=1. Builds are optimized with debug assertions and
# overflow checks on, without a sanitizer (the code under test is safe Rust). Corpora
# grow in fuzz/corpus/<target>/ (seeded by seed.sh), crashes land in
# fuzz/artifacts/<target>/, full logs in fuzz/logs/<target>.log.
# Exit status: 0 when no target crashed, 1 otherwise.
set -euo pipefail
seconds="${1:-60}"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export RUSTC_BOOTSTRAP=1
flags=(-O -a -s none)

if [[ -z "${SKIP_BUILD:-}" ]]; then
    cargo fuzz build "${flags[@]}"
fi
./seed.sh
targets="${TARGETS:-$(cargo fuzz list)}"
mkdir -p logs artifacts
report="${REPORT:-$here/report.md}"
{
    echo "| target | seconds | executions | exec/s | coverage (cov) | features (ft) | corpus | crashes |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} >"$report"
crashed=0
for t in $targets; do
    log="logs/$t.log"
    mkdir -p "corpus/$t" "artifacts/$t"
    before=$(find "artifacts/$t" -type f | wc -l)
    start=$(date +%s)
    status=0
    # -rss_limit_mb: a flood that grows memory is a finding too. -max_len: room for the
    # larger seeds (captures, certificates).
    cargo fuzz run "${flags[@]}" "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
        -max_len=65536 -timeout=10 >"$log" 2>&1 || status=$?
    took=$(( $(date +%s) - start ))
    after=$(find "artifacts/$t" -type f | wc -l)
    crashes=$(( after - before ))
    if [[ $status -ne 0 && $crashes -eq 0 ]]; then
        crashes="failed (exit $status, see $log)"
    fi
    [[ "$crashes" != "0" ]] && crashed=1
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | awk '{print $2}')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | awk '{print $2}')
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$last")
    echo "| $t | $took | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $crashes |" >>"$report"
done
cat "$report"
exit $crashed
