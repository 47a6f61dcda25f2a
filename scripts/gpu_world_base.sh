#!/usr/bin/env bash
# Train the world base on one GPU within a wall-clock budget, then (optionally) measure its
# temporal prior.
#
#   scripts/gpu_world_base.sh OUT_DIR [MINUTES] [DEVICE]
#
# MINUTES (default 7) bounds everything up to the base being written: a short probe run first
# measures steps per second with the real batch sizes, then the run's cosine schedule is sized
# to end inside what is left. Writes OUT_DIR/world-base (a diffusers folder, to be copied to
# src/imvideoedit/world/assets/world-base if it passes), OUT_DIR/probe.log, OUT_DIR/train.log,
# and unless SKIP_PRIOR=1, OUT_DIR/prior.json and OUT_DIR/prior.png (not counted in MINUTES).
# The run folder OUT_DIR/run resumes after a kill (same command; OUT_DIR/schedule keeps its
# length). FROM_STATE=path/to/state.pt continues an earlier run instead of starting afresh: its
# weights, EMA, optimizer and step count, with the schedule lengthened by what MINUTES leaves
# (the learning rate picks up the cosine where the longer schedule puts that step).
# INIT_BASE=path/to/world-base starts from a base's weights instead (a fresh optimizer and EMA,
# no image-only steps): what a machine that keeps no run state can continue from, since a base
# is a quarter of a state's size.
#
# Batches: VIDEO_BATCH clips of 9 frames (default 128), every other step IMAGE_BATCH single
# frames (default 512; images buy a frame's look cheaply, docs/proving_ground.md), the first
# tenth of the steps images only. WORKERS processes render and tokenize them (default: cores -
# 2), since rendering on one core is slower than a GPU step. Larger batches are not the lever:
# 16x the images per step reached a reading in about half the steps, while on an H100 a step
# of this small model is launch-bound (benchmarks/world_base_step.py). So on cuda the
# transformer and text encoder are compiled (COMPILE=0 turns it off): on an H100, 22 steps/s
# against 10.5, after about 2 minutes of compiling on a fresh machine (seconds once Inductor's
# cache has the graphs), so a run shorter than about 5 minutes gains nothing.
# EMA_DECAY (default 0.995) is shorter than a CPU run's: in a run of a few thousand steps,
# 0.999's average lags far behind the weights. MODEL_FLAGS passes the base's sizes (e.g.
# MODEL_FLAGS="--model-dim-heads 2 --model-head-dim 64"; default: the packaged base's).
# WORLD_FLAGS trains in a reduced world (e.g. WORLD_FLAGS="--max-shapes 1 --world-sizes large
# --edited-fraction 0"; the prior is then read in that world, with no verdict). TRAIN_FLAGS
# passes any other flag of scripts/train_world_backbone.py (e.g. TRAIN_FLAGS="--optimizer muon").
# Needs the package importable (pip install -e ., or PYTHONPATH=src); see docs/proving_ground.md.
set -euo pipefail
out=${1:?usage: scripts/gpu_world_base.sh OUT_DIR [MINUTES] [DEVICE]}
minutes=${2:-7}
device=${3:-cuda}
video_batch=${VIDEO_BATCH:-128}
image_batch=${IMAGE_BATCH:-512}
ema_decay=${EMA_DECAY:-0.995}
case "$device" in cuda*) default_compile=1 ;; *) default_compile=0 ;; esac
case "${COMPILE:-$default_compile}" in
    0) compile=--no-compile ;;
    1) compile=--compile ;;
    *) echo "COMPILE must be 0 or 1, not '$COMPILE'" >&2; exit 2 ;;
esac
start_time=$(date +%s)
workers=${WORKERS:-$(($(nproc) > 3 ? $(nproc) - 2 : 1))}
probe_steps=${PROBE_STEPS:-200}
mkdir -p "$out"
train() {
    python scripts/train_world_backbone.py --device "$device" --batch-size "$video_batch" \
        --image-batch-size "$image_batch" --image-step-every 2 --per-step-data \
        --data-workers "$workers" --warmup-steps 500 --learning-rate 1e-3 --text-lr-scale 3 \
        --edited-fraction 0.2 --ema-decay "$ema_decay" "$compile" --seed 1 ${MODEL_FLAGS:-} ${WORLD_FLAGS:-} \
        ${TRAIN_FLAGS:-} "$@"
}
if [ ! -e "$out/run/state.pt" ]; then  # a fresh run: size its schedule from the probe's speed
    rm -rf "$out/probe-run" "$out/probe-base"
    train --max-steps "$probe_steps" --run-dir "$out/probe-run" --out "$out/probe-base" \
        2>&1 | tee "$out/probe.log"
    rm -rf "$out/probe-run" "$out/probe-base"
    # The schedule: the steps that fit in what MINUTES leaves, less about 40 s for the run's start
    # (imports, workers) and the base's writing, and less the first 50 steps' extra time, which the
    # run repeats: warm-up, or when compiling, at most 30 s, since the run finds the probe's graphs
    # in Inductor's cache (on an H100 its first 50 steps took 18-21 s more than 50 later ones, the
    # probe's 2 minutes on a fresh machine). A continued run has had its image-only steps.
    python - "$out/probe.log" "$minutes" "$start_time" "${FROM_STATE:-}" "$compile" "${INIT_BASE:-}" > "$out/schedule.tmp" <<'EOF'
import re, sys, time

log, minutes, start, from_state, compile, init_base = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), *sys.argv[4:7]
rates = [float(r) for r in re.findall(r"([0-9.]+) steps/s", open(log).read())]
if not rates or min(rates) <= 0:
    sys.exit(f"the probe logged no usable rate ({rates}): give PROBE_STEPS 100 or more")
done_steps, done_minutes = 0, 0.0
if from_state:
    import torch

    state = torch.load(from_state, weights_only=False, map_location="cpu")
    done_steps, done_minutes = state["step"], state["elapsed"] / 60
rate, first = rates[-1], rates[0]
left = minutes * 60 - (time.time() - start) - 40
warm = max(0.0, 50 / first - 50 / rate)
if compile == "--compile":
    warm = min(warm, 30.0)
if left - warm < 60:
    sys.exit(f"only {left - warm:.0f} s left for training after the probe: give MINUTES more")
steps = int(rate * (left - warm) * 0.95)
print(done_steps + steps, round(done_minutes + left / 60, 2), 0 if from_state or init_base else steps // 10)
with open(log, "a") as handle:
    print(f"probe: {rate} steps/s (first 50 steps: {first}), {left:.0f} s left -> {steps} more steps", file=handle)
EOF
    mv "$out/schedule.tmp" "$out/schedule"
    tail -1 "$out/probe.log"
    if [ -n "${FROM_STATE:-}" ]; then  # after the schedule: a killed call resumes from here
        mkdir -p "$out/run" && cp "$FROM_STATE" "$out/run/state.pt.tmp" && mv "$out/run/state.pt.tmp" "$out/run/state.pt"
    fi
fi
read -r steps train_minutes image_only < "$out/schedule"
train --max-steps "$steps" --image-only-steps "$image_only" --max-minutes "$train_minutes" \
    ${INIT_BASE:+--init-base "$INIT_BASE"} --run-dir "$out/run" --out "$out/world-base" 2>&1 | tee "$out/train.log"
if [ "${SKIP_PRIOR:-0}" != 1 ]; then
    python benchmarks/world_prior.py --base "$out/world-base" --count 64 --sheet "$out/prior.png" \
        --device "$device" 2>"$out/prior.err" | tee "$out/prior.json"
fi
