#!/usr/bin/env bash
# Checks the layer rule: a file under src/<layer>/ includes only headers of layers it may use
# (the same table as the DEPS lists in src/CMakeLists.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A allowed=(
  [util]="util"
  [numerics]="util numerics"
  [tensor]="util numerics tensor"
  [quant]="util numerics tensor quant"
  [kernels]="util numerics tensor kernels"
  [io]="util numerics tensor io"
  [model]="util numerics tensor kernels model"
  [ptq]="util numerics tensor kernels model quant io ptq"
  [eval]="util numerics tensor kernels model eval"
  [advisor]="util numerics tensor kernels model quant io advisor"
  [cli]="util numerics tensor kernels model quant io ptq eval advisor cli"
)
status=0
while IFS= read -r file; do
  layer=$(echo "$file" | cut -d/ -f2)
  [ -n "${allowed[$layer]:-}" ] || { echo "unknown layer for $file"; status=1; continue; }
  while IFS= read -r inc; do
    dep=$(echo "$inc" | sed -E 's/#include "([a-z_]+)\/.*/\1/')
    if ! [[ " ${allowed[$layer]} " == *" $dep "* ]]; then
      echo "layer violation: $file includes $dep/ ($inc)"
      status=1
    fi
  done < <(grep -E '^#include "[a-z_]+/' "$file" || true)
done < <(git ls-files 'src/*.h' 'src/*.cpp' 'src/*.cu'; git ls-files --others --exclude-standard 'src/*.h' 'src/*.cpp')
[ $status -eq 0 ] && echo "layers: ok"
exit $status
