#!/usr/bin/env bash
# Compiles the CUDA kernels (kernels/*.cu) into fatbins that the jar carries as resources.
#
#   kernels/build.sh OUT_DIR         one OUT_DIR/<name>.fatbin per kernels/<name>.cu (sm_80 and sm_90 machine
#                                    code plus compute_90 PTX), and OUT_DIR/kernels.properties describing the
#                                    build (read by io.moecast.routing.cuda.KernelImage). Fails when ptxas
#                                    reports a register spill or a stack frame in any kernel.
#   kernels/build.sh --check LOG     only checks a saved `ptxas -v` log (prints the table; exit 1 on spills).
#
# Without nvcc (looked up as $NVCC, then on PATH, then /usr/local/cuda/bin) it writes kernels.properties with
# built=false and the reason, and succeeds: the jar builds, and the CUDA router says no kernels were built.
# The Maven build calls this in generate-resources (pom.xml, execution `cuda-kernels`). Up-to-date outputs
# (newer than every source and than this script) are kept, so incremental builds cost nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ARCHS=(-gencode "arch=compute_80,code=sm_80" -gencode "arch=compute_90,code=[sm_90,compute_90]")

# Reads a ptxas -v log; prints "arch kernel registers stack spill_stores spill_loads" rows; exit 1 on spills
# or stack frames (local memory in a kernel is a performance bug here: every array must live in registers).
check_log() {
  awk '
    /Compiling entry function/ {
      match($0, /function .[^'"'"']*/); name = substr($0, RSTART + 10, RLENGTH - 10)
      match($0, /for .sm_[0-9a-z]+/); arch = substr($0, RSTART + 5, RLENGTH - 5)
      n++; names[n] = name; archs[n] = arch; regs[n] = "?"; stack[n] = 0; ss[n] = 0; sl[n] = 0
    }
    /bytes stack frame/ && n > 0 {
      for (i = 1; i <= NF; i++) {
        if ($(i+1) == "bytes" && $(i+2) == "stack") stack[n] = $i
        if ($(i+1) == "bytes" && $(i+2) == "spill" && $(i+3) ~ /^stores/) ss[n] = $i
        if ($(i+1) == "bytes" && $(i+2) == "spill" && $(i+3) ~ /^loads/) sl[n] = $i
      }
    }
    /Used [0-9]+ registers/ && n > 0 {
      for (i = 1; i <= NF; i++) if ($i == "Used") regs[n] = $(i+1)
    }
    END {
      bad = 0
      printf "%-7s %-48s %5s %6s %7s %7s\n", "arch", "kernel", "regs", "stack", "spill-st", "spill-ld"
      for (i = 1; i <= n; i++) {
        flag = (stack[i] + ss[i] + sl[i] > 0) ? "  <-- SPILL" : ""
        if (flag != "") bad++
        printf "%-7s %-48s %5s %6s %7s %7s%s\n", archs[i], names[i], regs[i], stack[i], ss[i], sl[i], flag
      }
      if (n == 0) { print "no kernels found in the ptxas log"; exit 2 }
      if (bad > 0) { printf "%d kernel build(s) spill registers or use a stack frame\n", bad; exit 1 }
    }' "$1"
}

if [ "${1:-}" = "--check" ]; then
  check_log "${2:?usage: build.sh --check PTXAS_LOG}"
  exit $?
fi

out="${1:?usage: build.sh OUT_DIR}"
mkdir -p "$out"
props="$out/kernels.properties"

nvcc="${NVCC:-}"
skip_reason="nvcc was not found when this jar was built, so it carries no CUDA kernels"
if [ "${MOECAST_SKIP_KERNELS:-0}" = 1 ] || [ "$nvcc" = none ]; then
  nvcc=none
  skip_reason="the CUDA kernels were skipped when this jar was built (MOECAST_SKIP_KERNELS=1)"
elif [ -z "$nvcc" ]; then
  nvcc="$(command -v nvcc 2>/dev/null || true)"
fi
if [ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ]; then
  nvcc=/usr/local/cuda/bin/nvcc
fi
if [ -z "$nvcc" ] || [ "$nvcc" = none ]; then
  echo "moecast kernels: NOT built: $skip_reason"
  rm -f "$out"/*.fatbin "$out/ptxas.log" "$out/ptxas-table.txt"
  printf 'built=false\nreason=%s\n' "$skip_reason" >"$props"
  exit 0
fi

shopt -s nullglob
sources=("$here"/*.cu)
if [ ${#sources[@]} -eq 0 ]; then
  echo "moecast kernels: no kernels/*.cu" >&2
  exit 1
fi

stale=0
[ -f "$props" ] && grep -q '^built=true' "$props" || stale=1
for src in "${sources[@]}"; do
  fb="$out/$(basename "${src%.cu}").fatbin"
  if [ ! -f "$fb" ] || [ "$src" -nt "$fb" ] || [ "${BASH_SOURCE[0]}" -nt "$fb" ]; then stale=1; fi
done
if [ "$stale" = 0 ]; then
  echo "moecast kernels: up to date"
  exit 0
fi

version="$("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p' | head -1)"
log="$out/ptxas.log"
: >"$log"
names=()
for src in "${sources[@]}"; do
  base="$(basename "${src%.cu}")"
  echo "moecast kernels: nvcc $version: $base.cu -> $base.fatbin (sm_80, sm_90, compute_90 PTX)"
  if ! "$nvcc" -O3 -std=c++17 --threads 0 -Xptxas -v "${ARCHS[@]}" -fatbin -o "$out/$base.fatbin" "$src" >>"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$out/$base.fatbin"
    echo "moecast kernels: nvcc failed on $base.cu" >&2
    exit 1
  fi
  names+=("$base")
done

if ! check_log "$log" >"$out/ptxas-table.txt"; then
  cat "$out/ptxas-table.txt" >&2
  rm -f "$out"/*.fatbin
  echo "moecast kernels: FAILED: register spills (see the table above; full log: $log)" >&2
  exit 1
fi
awk 'NR > 1 { n++; if ($3 > max) { max = $3; who = $2 } } END {
  printf "moecast kernels: %d kernel builds, 0 spills, 0 stack; most registers: %s (%d); table: ptxas-table.txt\n", n, who, max }' \
  "$out/ptxas-table.txt"

kernels="$(sed -n "s/.*Compiling entry function '\([^']*\)' for 'sm_90'.*/\1/p" "$log" | sort -u | paste -sd, -)"
{
  echo "built=true"
  echo "nvcc=$version"
  echo "archs=sm_80,sm_90,compute_90"
  echo "modules=$(IFS=,; echo "${names[*]}")"
  echo "kernels=$kernels"
  # registers per kernel on sm_90 (from ptxas -v), for the GPU check's report
  awk '$1 == "sm_90" { printf "regs.%s=%s\n", $2, $3 }' "$out/ptxas-table.txt"
} >"$props"
