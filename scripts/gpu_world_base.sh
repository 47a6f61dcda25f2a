#!/usr/bin/env bash
# Train the world base on one GPU and measure its temporal prior, in one go.
#
#   scripts/gpu_world_base.sh OUT_DIR [STEPS] [MINUTES] [DEVICE]
#
# Writes OUT_DIR/world-base (a diffusers folder, to be copied to
# src/imvideoedit/world/assets/world-base if it passes), OUT_DIR/train.log, OUT_DIR/prior.json
# and OUT_DIR/prior.png. The run folder OUT_DIR/run resumes after a kill. STEPS sets the cosine
# schedule's length (default 20000: videos at batch 64, every other step 256 images, since
# images buy a frame's look cheaply, docs/proving_ground.md); MINUTES stops earlier with the
# base written.
# Needs the package installed (pip install -e .); see docs/proving_ground.md.
set -euo pipefail
out=${1:?usage: scripts/gpu_world_base.sh OUT_DIR [STEPS] [MINUTES] [DEVICE]}
steps=${2:-20000}
minutes=${3:-8}
device=${4:-cuda}
mkdir -p "$out"
python scripts/train_world_backbone.py --device "$device" --batch-size 64 \
    --image-batch-size 256 --image-step-every 2 \
    --max-steps "$steps" --max-minutes "$minutes" --warmup-steps 500 \
    --learning-rate 1e-3 --text-lr-scale 3 --edited-fraction 0.2 --seed 1 \
    --run-dir "$out/run" --out "$out/world-base" 2>&1 | tee "$out/train.log"
python benchmarks/world_prior.py --base "$out/world-base" --count 64 --sheet "$out/prior.png" \
    2>"$out/prior.err" | tee "$out/prior.json"
