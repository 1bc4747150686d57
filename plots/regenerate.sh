#!/usr/bin/env bash
# Regenerates the committed plots: plots/model-<name>.svg for every model in models/, and
# plots/capture-<name>.svg for every field capture in tests/data/observed/. Plots are deterministic: an unchanged model or capture gives the same file.
# Usage: bash plots/regenerate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=target/release/tcpsim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for m in models/*.toml; do
    name=$(basename "$m" .toml)
    "$bin" run "$m" --out "$tmp/$name" --outputs none --plot > /dev/null
    cp "$tmp/$name/timeline.svg" "plots/model-$name.svg"
done
for c in tests/data/observed/*.txt; do
    "$bin" plot "$c" --out "plots/capture-$(basename "$c" .txt).svg" > /dev/null
done
ls plots/*.svg | wc -l | xargs echo "plots written:"
