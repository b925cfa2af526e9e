#!/usr/bin/env bash
# What a session runs when it is lent a GPU: every benchmark with --device cuda, then the full
# preset of notebook 01's experiment, all inside BUDGET_S seconds.
#   bash benchmarks/gpu_session.sh OUTDIR [BUDGET_S]
# Logs and results are packed into OUTDIR/gpu.tgz (and OUTDIR/gpu.log). Needs torch with CUDA,
# numpy, scipy, matplotlib and tqdm (no pip install: PYTHONPATH points at the checkout).
set -u
OUT=${1:?output folder}
BUDGET=${2:-540}
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD:${PYTHONPATH:-}
PY=${PY:-python3}
END=$((SECONDS + BUDGET - 15))  # 15 s kept for packing the results
log() { echo "[$(date +%T) +${SECONDS}s] $*"; }
step() {  # step LIMIT_S LABEL CMD...: run CMD for at most LIMIT_S seconds and what is left of the budget
  local limit=$1 label=$2; shift 2
  local left=$((END - SECONDS)); (( left < limit )) && limit=$left
  if (( limit < 10 )); then log "$label: skipped (budget spent)"; return; fi
  log "$label (at most ${limit} s)"
  timeout "$limit" "$@" || log "$label: stopped or failed ($?)"
}
{
  log "GPU session: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader)"
  $PY -c "import torch, numpy, scipy; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available(), 'numpy', numpy.__version__)"
  step 60 roofline $PY benchmarks/roofline.py --quick --device cuda
  step 90 multitask $PY benchmarks/multitask.py --quick --device cuda --no-compile
  step 90 pinn_step $PY benchmarks/pinn_step.py --quick --device cuda --no-compile
  step 60 inference $PY benchmarks/inference.py --quick --device cuda
  step 60 hyper_inference $PY benchmarks/hyper_inference.py --quick --device cuda
  step 90 hyperlr_phase1 $PY benchmarks/hyperlr_phase1.py --quick --device cuda
  step 90 lora_batched $PY benchmarks/lora_batched.py --quick --device cuda --points 256,2601
  step 400 "full preset of pinn_basics" $PY -m pinnlab run pinn_basics --mode full --device cuda
  step 150 "multitask with torch.compile" $PY benchmarks/multitask.py --quick --device cuda
  log done
} 2>&1 | tee "$OUT/gpu.log"
tar czf "$OUT/gpu.tgz" build/bench figures/01_pinn_basics/full "$OUT/gpu.log" 2>/dev/null
ls -la "$OUT"
