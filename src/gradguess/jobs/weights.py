"""Prompt tuning's backbone weights, from the file a user names (or a random backbone), into the one canonical
`.safetensors` every run of Figure 9 loads (models/vit_weights.py: checked, never unpickled)."""
from __future__ import annotations

import json
import logging

log = logging.getLogger("gradguess")
HELP = "check and convert ViT backbone weights (.npz, .safetensors, weights-only .pth) for prompt tuning"


def add_arguments(p) -> None:
    p.add_argument("--source", required=True,
                   help="the weights file (Google's .npz, timm's .safetensors, a weights-only .pth), or `random`")
    p.add_argument("--vit", required=True, help='the backbone\'s sizes as JSON: {"patch", "dim", "depth", "heads", '
                                                '"mlp_ratio"}')
    p.add_argument("--image", type=int, nargs=3, metavar=("C", "H", "W"), required=True,
                   help="the images it will see (channels, height, width)")
    p.add_argument("--seed", type=int, default=0, help="the random backbone's seed (--source random)")
    p.add_argument("--out", required=True, help="the canonical .safetensors file to write")


def run(args) -> int:
    from gradguess.models.vit_weights import convert_weights, random_weights

    vit = json.loads(args.vit)
    c, h, _ = args.image
    sizes = {"image": h, "patch": vit["patch"], "in_chans": c, "dim": vit["dim"], "depth": vit["depth"],
             "heads": vit["heads"], "mlp_dim": int(round(vit["dim"] * vit["mlp_ratio"]))}
    if args.source == "random":
        random_weights(args.out, seed=args.seed, **sizes)
    else:
        convert_weights(args.source, args.out, **sizes)
    log.info("wrote %s (%s)", args.out, args.source)
    return 0
