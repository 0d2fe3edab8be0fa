#!/usr/bin/env bash
# Small-data options on and off (issue 12), on the sketch-to-photo recipe at a third of its schedule
# (2 epochs, 330 steps, so that the variants fit a 2-core CPU): each variant is the recipe with one option
# changed, exported from its best checkpoint and measured by `translation eval` on the held-out photographs.
# EMA needs no second run: the all-options run is exported with its live weights as well.
#   nice -n 5 bash benchmarks/ablate_small_data.sh [VARIANT ...]    (default: all; results in runs/ablation/)
# The recipe's dataset folder must exist first (translation train --recipe sketch-to-photo makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
base=runs/recipe-sketch-to-photo
out=runs/ablation
mkdir -p "$out"
recipe=(--data "$base/dataset" --task sketch-to-photo --preprocess random_scale --load-size 512 --crop-size 256
        --netG unet_256 --ngf 32 --ndf 32 --batch-size 4 --repeats 10 --workers 2 --epochs 1 --epochs-decay 1
        --upsample resize --lambda-l1 500 --val-max 8 --save-every 165 --sample-every 330 --log-every 15 --keep 2)
declare -A variants=(
  [all-options]="--ema 0.999 --diffaugment translation,cutout"
  [no-diffaugment]="--ema 0.999"
  [spectral-norm]="--ema 0.999 --diffaugment translation,cutout --spectral-norm"
)
measure() {  # RUN_DIR NAME [export options]: export the best checkpoint, evaluate it
  local run=$1 name=$2; shift 2
  .venv/bin/translation export "$run" --checkpoint best -o "$out/$name.onnx" "$@" >/dev/null
  .venv/bin/translation eval --model "$out/$name.onnx" --json "$out/$name.json" | sed "s/^/$name: /"
}
for name in "${@:-${!variants[@]}}"; do
  # shellcheck disable=SC2086
  .venv/bin/translation train pix2pix "${recipe[@]}" ${variants[$name]} --out "$out/$name" \
    $([ -d "$out/$name/checkpoints" ] && echo --resume) > "$out/$name.log" 2>&1
  measure "$out/$name" "$name"
done
if [ -d "$out/all-options/checkpoints" ]; then measure "$out/all-options" all-options-live-weights --weights live; fi
if [ -f "$base/checkpoints/best.pt" ]; then measure "$base" recipe-full-schedule; fi
