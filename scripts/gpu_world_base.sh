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
#
# Batches: VIDEO_BATCH clips of 9 frames (default 128), every other step IMAGE_BATCH single
# frames (default 512; images buy a frame's look cheaply, docs/proving_ground.md), the first
# tenth of the steps images only. WORKERS processes render and tokenize them (default: cores -
# 2), since rendering on one core is slower than a GPU step. Larger batches are not the lever:
# 16x the images per step reached a reading in about half the steps, while on an H100 a step
# of this small model is launch-bound (benchmarks/world_base_step.py). COMPILE=1 compiles the
# transformer and text encoder, fusing those launches, at the cost of compile time at the start.
# EMA_DECAY (default 0.995) is shorter than a CPU run's: in a run of a few thousand steps,
# 0.999's average lags far behind the weights. MODEL_FLAGS passes the base's sizes (e.g.
# MODEL_FLAGS="--model-dim-heads 2 --model-head-dim 64"; default: the packaged base's).
# Needs the package importable (pip install -e ., or PYTHONPATH=src); see docs/proving_ground.md.
set -euo pipefail
out=${1:?usage: scripts/gpu_world_base.sh OUT_DIR [MINUTES] [DEVICE]}
minutes=${2:-7}
device=${3:-cuda}
video_batch=${VIDEO_BATCH:-128}
image_batch=${IMAGE_BATCH:-512}
ema_decay=${EMA_DECAY:-0.995}
compile=$([ "${COMPILE:-0}" = 1 ] && echo --compile || echo --no-compile)
workers=${WORKERS:-$(($(nproc) > 3 ? $(nproc) - 2 : 1))}
probe_steps=${PROBE_STEPS:-200}
mkdir -p "$out"
train() {
    python scripts/train_world_backbone.py --device "$device" --batch-size "$video_batch" \
        --image-batch-size "$image_batch" --image-step-every 2 --per-step-data \
        --data-workers "$workers" --warmup-steps 500 --learning-rate 1e-3 --text-lr-scale 3 \
        --edited-fraction 0.2 --ema-decay "$ema_decay" "$compile" --seed 1 ${MODEL_FLAGS:-} "$@"
}
if [ ! -e "$out/run/state.pt" ]; then  # a fresh run: size its schedule from the probe's speed
    rm -rf "$out/probe-run" "$out/probe-base"
    train --max-steps "$probe_steps" --run-dir "$out/probe-run" --out "$out/probe-base" \
        2>&1 | tee "$out/probe.log"
    rm -rf "$out/probe-run" "$out/probe-base"
    rate=$(grep -o '[0-9.]* steps/s' "$out/probe.log" | tail -1 | cut -d' ' -f1)
    first=$(grep -o '[0-9.]* steps/s' "$out/probe.log" | head -1 | cut -d' ' -f1)
    # What is left, less about 40 s for the run's start (imports, workers) and the base's writing.
    left=$(python -c "print(int($minutes * 60) - $SECONDS - 40)")
    [ "$left" -gt 60 ] || { echo "only ${left}s left after the probe: give MINUTES more" >&2; exit 1; }
    # The first 50 steps' extra time (warm-up; with COMPILE=1, compiling) recurs in the run.
    warm=$(python -c "print(max(0.0, 50 / $first - 50 / $rate))")
    done_steps=0 done_minutes=0
    if [ -n "${FROM_STATE:-}" ]; then  # continue that run: its steps and minutes count as done
        read -r done_steps done_minutes < <(python -c "import torch; s = torch.load('$FROM_STATE', weights_only=False, map_location='cpu'); print(s['step'], s['elapsed'] / 60)")
    fi
    python -c "print($done_steps + int($rate * ($left - $warm) * 0.95), round($done_minutes + $left / 60, 2))" \
        > "$out/schedule"
    if [ -n "${FROM_STATE:-}" ]; then  # after the schedule: a killed call resumes from here
        mkdir -p "$out/run" && cp "$FROM_STATE" "$out/run/state.pt.tmp" && mv "$out/run/state.pt.tmp" "$out/run/state.pt"
    fi
    echo "probe: $rate steps/s (first 50 steps: $first), ${left}s left -> $(cut -d' ' -f1 "$out/schedule") steps" |
        tee -a "$out/probe.log"
fi
read -r steps train_minutes < "$out/schedule"
train --max-steps "$steps" --image-only-steps $((steps / 10)) --max-minutes "$train_minutes" \
    --run-dir "$out/run" --out "$out/world-base" 2>&1 | tee "$out/train.log"
if [ "${SKIP_PRIOR:-0}" != 1 ]; then
    python benchmarks/world_prior.py --base "$out/world-base" --count 64 --sheet "$out/prior.png" \
        --device "$device" 2>"$out/prior.err" | tee "$out/prior.json"
fi
