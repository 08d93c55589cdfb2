#!/usr/bin/env bash
# Regenerates docs/experiments/: the default comparison of docs/experiments.md.
# Every registered design runs (no --designs), so Whitix and Linux join the
# charts as soon as they are in DESIGNS. Counters are deterministic; wall
# times are not (they are medians of 3 runs on whatever the machine is doing).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -b packages/experiments
run() { node packages/experiments/dist/bin/experiment.js "$@"; }
F=packages/malloc/test/fixtures
rm -rf docs/experiments
run spaces --spaces 16 --pages 64 --rounds 8 --tlb unbounded,64:4:lru --out docs/experiments/spaces
run tlb --out docs/experiments/tlb
run kernel-alloc --ops 4000 --ram 16 --ranges buddy,first-fit --policy segregated,first-fit \
  --out docs/experiments/kernel-alloc
run malloc --trace "$F/gen-mixed-1.rep,$F/gen-mixed-2.rep,$F/realloc-grow.rep" \
  --policy segregated,first-fit --out docs/experiments/malloc
