#!/usr/bin/env bash
# Issue 15's measurements on a lent GPU machine, in two calls made back to back (the machine stays warm
# 30 s between calls, so the second finds what the first unpacked in /tmp). Prepare first, here:
# `bash benchmarks/gpu/prepare.sh`. Then, through the device tool:
#
#   call 1: carry [".gpu"], command "bash benchmarks/gpu/run.sh 1", timeout_s 360   (~5 min)
#   call 2: carry [".gpu"], command "bash benchmarks/gpu/run.sh 2", timeout_s 480   (~7 min)
#
# Sized for a session's 15 minutes of device time, a machine's start included. Part 1: throughput
# against the seed's pipeline, the fused pool kernel of inas/model/pool.py alone (checked against
# PyTorch's on the GPU, then both timed: its first run on one), the step's profile with PyTorch's pool
# and with the fused one, trials sharing the GPU. Part 2: the seed's table (GoogleNet at 14 epochs,
# inas recipe), then the headline search for a fixed time (SIGTERM stops it cleanly: the study keeps
# what finished, and `--resume` continues it on a later machine).
# Every step has its own time limit so that one slow step leaves the others their time; each writes
# its output under $OUT (studies too: make reports from them here). A rehearsal on a machine without
# a GPU: `OUT=/tmp/out SMOKE=1 bash benchmarks/gpu/run.sh 1` (tiny settings, same code paths).
set -uo pipefail
cd "$(dirname "$0")/../.."
part=${1:?say which part: 1 or 2}
OUT=${OUT:-/tmp/inas-gpu-out}
SMOKE=${SMOKE:-0}
SITE=/tmp/inas-site
DATA=/tmp/inas-cifar10
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD:$SITE" INAS_CACHE=/tmp/inas-cache RAY_USAGE_STATS_ENABLED=0
py=python3
log="$OUT/part$part.log"
exec > >(tee -a "$log") 2>&1

step() {  # step SECONDS NAME COMMAND...: run with a limit; SIGTERM first (inas stops cleanly), then KILL
  local limit=$1 name=$2
  shift 2
  echo "== $name (limit ${limit}s): $*"
  local t0=$SECONDS
  timeout --signal=TERM --kill-after=20 "$limit" "$@"
  echo "== $name: exit $?, $((SECONDS - t0)) s"
}

if [ ! -d "$SITE" ]; then
  mkdir -p "$SITE" && tar -xJf .gpu/site.tar.xz -C "$SITE" || { echo "cannot unpack .gpu/site.tar.xz"; exit 1; }
fi
if [ ! -d "$DATA" ]; then
  mkdir -p "$DATA" && tar -xzf .gpu/cifar10-jpg.tar.gz -C "$DATA" || { echo "cannot unpack CIFAR-10"; exit 1; }
fi
$py -c "import sys, torch, optuna, ray; print(sys.version.split()[0], 'torch', torch.__version__, 'optuna', optuna.__version__, 'ray', ray.__version__, 'cuda', torch.cuda.is_available())"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv 2>/dev/null
git log -1 --format='inas %h %cs %<(72,trunc)%s' 2>/dev/null || true
date -u
dmon() { nvidia-smi dmon -s u -d 1 >"$OUT/dmon-$1.txt" 2>/dev/null & echo $!; }
data="imagefolder:$DATA"

if [ "$SMOKE" = 1 ]; then  # tiny settings: the same code paths on a CPU, in a few minutes
  images=64 prof="--batch-size 16 --warmup-steps 5 --steps 2" share="--images 128 --ks 1,2" epochs=1
  search_budget="--budget proxy --trials 4" search_time=240 variants=Short4 table_data=synthetic:256
  pool="--batch-size 1 --reps 1 --warmup 0 --shapes 3" pool_env="TRITON_INTERPRET=1"
else
  images=25000 prof="" share="--images 20000 --epochs 1" epochs=14
  search_budget="--budget standard --trials 50" search_time=170 variants=GoogleNet table_data=$data
  pool="" pool_env=""
fi

case "$part" in
1)
  step 60 decode $py -c "from inas.data import load_dataset; d = load_dataset('$data'); print(d.name, tuple(d.train_x.shape))"
  step 90 pool-kernel env $pool_env $py benchmarks/pool_kernel.py $pool
  step 100 throughput $py benchmarks/train_throughput.py --data "$data" --images "$images" --epochs 2 --peak-tflops 780
  step 60 profile $py benchmarks/step_profile.py --data "$data" $prof
  step 90 profile-fused-pool $py benchmarks/step_profile.py --data "$data" $prof --fused-pool
  step 90 sharing $py benchmarks/gpu_sharing.py --data "$data" $share
  ;;
2)
  pid=$(dmon seed-table)
  step 240 seed-table $py -m inas reproduce seed-table --dataset "$table_data" --recipe inas --epochs "$epochs" \
    --variants "$variants" --storage "sqlite:///$OUT/seed-table.db" --out /tmp/inas-seed-table --quiet
  kill "$pid" 2>/dev/null
  pid=$(dmon search)
  step "$search_time" search $py -m inas search --space googlenet_depth $search_budget --dataset "$data" \
    --storage "sqlite:///$OUT/search.db" --quiet
  kill "$pid" 2>/dev/null
  $py -m inas trials "$OUT/search.db" --format markdown 2>&1 | tail -n 60
  ;;
*) echo "part 1 or 2" && exit 2 ;;
esac
date -u
