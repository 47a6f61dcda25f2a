"""How much each branch of a trained adapter moves each block's attention output (world base).

    python benchmarks/world_adapter_branches.py --adapters runs/ablation/full-s0/run/adapter.safetensors \
        runs/ablation/no_gate-s0/run/adapter.safetensors --clips 16 --sigma 0.5

Explains an ablation ranking: for held-out world edits (the whole source clip, the ground-truth
clip noised to `--sigma`, the edited caption), each adapted block's output H is compared with
the frozen 3D attention output A it replaces, on the target stream only. Per variant, averaged
over blocks (and listed per block with --per-block):

    change      ||H - A|| / ||A||             how far the adapter moves the block at all
    predict     ||W_p(S1)|| / ||A||           the predict branch (all but `parallel`)
    update      ||dS|| / ||A||                the update branch before gating (full, no_gate)
    gated       ||G * dS|| / ||A||            what the gate lets through (full)
    gate        mean and spread of G          a gate near a constant is a learned scale, not a selection
    gate_text   mean |G(prompt) - G(empty)|   how much the gate depends on the prompt at all
    twin        attention share on the twin      of a target token's attention in the predict
                                                  branch's Phi (phi_pos for `parallel`), the share
                                                  on the source token at its own place (uniform:
                                                  1 / 2HW); copying what an edit keeps needs it high
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict


def _norm_ratio(x, reference) -> float:
    return float(x.float().norm() / reference.float().norm().clamp_min(1e-12))


def attention_weights(phi, hidden_states, grid, rotary_emb_2d):
    """The attention weights of `phi` (a JointSpatialAttention) on its joint grid, computed with
    its own q/k projections, norms and RoPE: (b*F, heads, 2HW, 2HW), and the joint input
    (b*F, 2HW, D) they apply to."""
    import torch

    joint = phi.joint_grid(hidden_states, grid)  # (b*F, 2HW, D), the grid the operator attends over
    attn = phi.attn
    cos, sin = rotary_emb_2d  # (1, 2HW, 1, head_dim)

    def rotate(x):  # x (b*F, 2HW, heads, head_dim), RoPE as diffusers' Wan processor applies it
        x1, x2 = x.unflatten(-1, (-1, 2)).unbind(-1)
        out = torch.empty_like(x)
        out[..., 0::2] = x1 * cos[..., 0::2] - x2 * sin[..., 1::2]
        out[..., 1::2] = x1 * sin[..., 1::2] + x2 * cos[..., 0::2]
        return out

    query = rotate(attn.norm_q(attn.to_q(joint)).unflatten(2, (attn.heads, -1)))
    key = rotate(attn.norm_k(attn.to_k(joint)).unflatten(2, (attn.heads, -1)))
    weights = torch.einsum("bqhd,bkhd->bhqk", query, key).mul(query.shape[-1] ** -0.5).softmax(-1)
    return weights, joint


def twin_share(phi, hidden_states, grid, rotary_emb_2d) -> float:
    """Mean attention weight a target token of `phi` puts on its source twin."""
    import torch

    _, height, width = grid
    weights, _ = attention_weights(phi, hidden_states, grid, rotary_emb_2d)
    cells = torch.arange(height * 2 * width).reshape(height, 2 * width)
    targets, twins = cells[:, :width].flatten(), cells[:, width:].flatten()
    return float(weights[:, :, targets, twins].mean())


def measure(base: str, adapter: str, clips: int, sigma: float, seed: int) -> dict:
    import numpy as np
    import torch

    from imvideoedit.flow_matching import add_noise, paired_model_inputs, target_half
    from imvideoedit.injection import adapted_blocks
    from imvideoedit.pipeline import ImVideoEditPipeline
    from imvideoedit.text_encoding import encode_prompts
    from imvideoedit.world.backbone_training import to_latents
    from imvideoedit.world.pairs import heldout_edits
    from imvideoedit.world.render import render

    pipe = ImVideoEditPipeline.from_pretrained(base, adapter=adapter)
    transformer = pipe.transformer.eval()
    edits = heldout_edits(clips)
    source = to_latents(np.stack([render(e.source) for e in edits]), vae=pipe.vae)  # (b, C, F, h, w)
    truth = to_latents(np.stack([render(e.target) for e in edits]), vae=pipe.vae)
    noise = torch.randn(truth.shape, generator=torch.Generator().manual_seed(seed))
    sigmas = torch.full((clips,), sigma)
    noisy = add_noise(truth, noise, sigmas)
    prompts = [e.target_caption for e in edits]

    def run(text_prompts: list[str], read_twin: bool) -> list[dict]:
        text = encode_prompts(pipe.tokenizer, pipe.text_encoder, text_prompts)
        records: list[dict] = []
        handles = []
        for block in adapted_blocks(transformer):
            record: dict = {}
            records.append(record)
            adapter_module = block.adapter

            def grab(name, rec=record):
                def hook(module, args, output):
                    rec[name] = output

                return hook

            def whole(module, args, output, rec=record):
                rec["A"], rec["H"] = args[1], output

            handles.append(adapter_module.register_forward_hook(whole))
            if read_twin:  # the prompted pass only: the empty one feeds the gate's reading alone
                phi = getattr(adapter_module, "phi1", None) or getattr(adapter_module, "phi_pos", None)

                def twin(module, args, rec=record):
                    rec["twin"] = twin_share(module, *args[:3])

                handles.append(phi.register_forward_pre_hook(twin))
            for name in ("proj_p", "phi2", "gate_proj"):
                if hasattr(adapter_module, name):
                    handles.append(getattr(adapter_module, name).register_forward_hook(grab(name)))
        try:
            with torch.no_grad():
                transformer(**paired_model_inputs(source, noisy, sigmas, text))
        finally:
            for handle in handles:
                handle.remove()
        return records

    with_text, without_text = run(prompts, read_twin=True), run([""] * clips, read_twin=False)
    rows = []
    for record, empty in zip(with_text, without_text, strict=True):
        a, h = target_half(record["A"]), target_half(record["H"])  # the target stream only
        row = {"change": _norm_ratio(h - a, a), "twin": record["twin"]}
        if "proj_p" in record:
            row["predict"] = _norm_ratio(target_half(record["proj_p"]), a)
        if "phi2" in record:
            row["update"] = _norm_ratio(target_half(record["phi2"]), a)
        if "gate_proj" in record:
            gate = torch.sigmoid(target_half(record["gate_proj"]).float())
            gate_empty = torch.sigmoid(target_half(empty["gate_proj"]).float())
            row["gated"] = _norm_ratio(gate * target_half(record["phi2"]), a)
            row["gate_mean"] = float(gate.mean())
            row["gate_std"] = float(gate.std())
            row["gate_text"] = float((gate - gate_empty).abs().mean())
        rows.append(row)
    summary = defaultdict(list)
    for row in rows:
        for key, value in row.items():
            summary[key].append(value)
    return {"mean": {k: float(np.mean(v)) for k, v in summary.items()}, "per_block": rows}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--adapters", nargs="+", required=True)
    parser.add_argument("--base", default=None, help="world base folder (default: the packaged one)")
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-block", action="store_true")
    args = parser.parse_args()

    from imvideoedit.adapter_io import read_adapter_metadata
    from imvideoedit.errors import UserError
    from imvideoedit.world.base_model import committed_base

    if not 0.0 < args.sigma <= 1.0:
        raise UserError(f"--sigma must be in (0, 1], got {args.sigma}")
    base = str(args.base or committed_base())
    for path in args.adapters:
        variant = json.loads(read_adapter_metadata(path)["adapter_config"])["variant"]
        result = measure(base, path, args.clips, args.sigma, args.seed)
        line = {"adapter": path, "variant": variant, **{k: round(v, 4) for k, v in result["mean"].items()}}
        if args.per_block:
            line["per_block"] = [{k: round(v, 4) for k, v in row.items()} for row in result["per_block"]]
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    from imvideoedit.errors import UserError

    try:
        main()
    except UserError as error:  # bad input: one line, not a traceback
        raise SystemExit(f"{sys.argv[0]}: error: {error}") from None
