#!/usr/bin/env bash
# Runs one fuzz target for a number of executions (default 10 million), seeded from the committed
# corpus in seeds/TARGET, growing the working corpus in corpus/TARGET (not committed).
# Needs the nightly toolchain and cargo-fuzz: cargo install cargo-fuzz.
# Usage: fuzz/run.sh TARGET [RUNS]    (targets: model capture pcap plot)
# FUZZ_TIMEOUT=SECONDS raises the per-input wall-clock limit (default 10) for runs sharing a busy
# machine at low priority, where a starved input is slow without being a hang.
set -euo pipefail
cd "$(dirname "$0")"
target=$1
runs=${2:-10000000}
mkdir -p "corpus/$target" logs
exec cargo +nightly fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
    -runs="$runs" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1
