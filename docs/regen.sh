#!/usr/bin/env bash
# Regenerates the figures the README shows under "In the classroom", on the
# machine it runs on: the ledger excerpt and the stack plot. Run from the
# module root: bash docs/regen.sh
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./cmd/rtlab claims --quick C09 C19 C22 C23 C29 C36 C45 C46 > docs/ledger-quick.txt
go run ./cmd/rtlab plot stack -o docs/stack.png
go run ./cmd/rtlab plot stack -o docs/stack.svg
