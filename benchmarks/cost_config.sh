#!/usr/bin/env bash
# Writes benchmarks/results/cost-config.md: what config.yaml costs on the H200 and the 2-core CPU, with and without
# replicate batching, from the calibrations shipped in src/gradguess/calibration/ (no device needed).
set -euo pipefail
cd "$(dirname "$0")/.."
g=".venv/bin/gradguess"
out=benchmarks/results/cost-config.md
{
  echo "# What \`config.yaml\` (the paper) costs"
  echo
  echo "Generated $(date -u +%F) by \`bash benchmarks/cost_config.sh\` (\`gradguess cost\`, src/gradguess/cost.py) from the"
  echo "calibrations in src/gradguess/calibration/ (h200.json: the H200 figures measured so far; cpu-2core.json:"
  echo "this project's 2-core machine). Without Figure 9 (skipped: no ViT-B/16 weights named). Hours are projections"
  echo "without the 3x margin of the SLURM requests. The last column counts each rule's jobs by how their step times"
  echo "were got: measured, extrapolated (another shape or batch of the same model kind, by FLOPs above the launch"
  echo "floor), assumed (never measured on that device: reasons under the step times below), request (not modelled)."
  for device in h200 cpu; do
    for batching in --no-batching --batching; do
      echo
      echo "## $device, $batching"
      echo
      "$g" cost --device "$device" "$batching" 2>/dev/null
    done
  done
  echo
  echo "## SLURM submissions of the paper run (\`gradguess plan --jobs\`, batching as config.yaml says)"
  echo
  "$g" plan --jobs 2>/dev/null | tail -1
  echo
  echo "## Step times used on the H200 (with batching)"
  echo
  "$g" cost --device h200 --batching --steps 2>/dev/null | sed -n '/^Step times used/,$p' | tail -n +3
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
