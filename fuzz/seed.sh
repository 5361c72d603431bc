#!/usr/bin/env bash
# Writes the seed corpora (fuzz/corpus/<target>/, git-ignored) from the test data:
# capture files under testdata/ and payload fixtures under dissectors/tests/fixtures/.
# Existing corpus files are kept (the fuzzer's own finds included).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cargo run --quiet --manifest-path "$here/Cargo.toml" --example seed -- "$here/.." "$here/corpus"
