"""What editing costs over plain text-to-video generation of the same clip, in one run.

Both sides use the same random-weight transformer (same seed), VAE, text encoder, scheduler,
frame count, resolution, steps and guidance:

- t2v:  diffusers' own `WanPipeline` with the stock transformer (no adapter);
- edit: `ImVideoEditPipeline` with the ImVideoEdit adapter attached to that transformer.

Editing does more work per step (the source stream rides along at timestep 0, so every forward
carries twice the items, plus the adapter's 2D attentions) and encodes the source with the VAE once.
Time: both pipelines are built in one process and called alternately (t2v, edit, t2v, ...) after
a warm-up call each; the median call of each side gives the ratio, which a drifting machine load
then affects equally. Memory: each side runs once more in a child process of its own, so its peak
is clean: CUDA peak allocated memory on a GPU, peak resident set size on CPU.

    python benchmarks/edit_cost.py --config tiny
    python benchmarks/edit_cost.py --config medium
    python benchmarks/edit_cost.py --config wan2.1-t2v-1.3b --device cuda --dtype bfloat16

The text encoder is a small random UMT5 (2 layers, the base's text width, the tiny prompt
vocabulary) on every config: both sides encode the same prompts with it, so it does not move the
ratio, and it keeps the 1.3B run from allocating an 11 GB random UMT5-XXL.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass

# Benchmark presets: transformer config, VAE size, clip size and sampling settings.
PRESETS: dict[str, dict] = {
    "tiny": {
        "transformer": "tiny",
        "vae_base_dim": 8,
        "height": 32,
        "width": 32,
        "num_frames": 9,
        "steps": 4,
    },
    # A transformer big enough to dominate the run on a CPU (8 blocks of width 512), tiny VAE.
    "medium": {
        "transformer": {
            "patch_size": [1, 2, 2],
            "num_attention_heads": 8,
            "attention_head_dim": 64,
            "in_channels": 16,
            "out_channels": 16,
            "text_dim": 256,
            "freq_dim": 64,
            "ffn_dim": 2048,
            "num_layers": 8,
            "cross_attn_norm": True,
            "qk_norm": "rms_norm_across_heads",
            "eps": 1e-6,
            "rope_max_seq_len": 1024,
        },
        "vae_base_dim": 8,
        "height": 128,
        "width": 128,
        "num_frames": 17,
        "steps": 4,
    },
    # Wan2.1-T2V-1.3B with random weights and Wan's full-size VAE, at its native 480x832, 81 frames.
    "wan2.1-t2v-1.3b": {
        "transformer": "wan2.1-t2v-1.3b",
        "vae_base_dim": 96,
        "height": 480,
        "width": 832,
        "num_frames": 81,
        "steps": 10,
    },
}
PROMPT = "a shiny silver robotic wolf walking in the snow"
NEGATIVE = "blurry, low quality"


@dataclass
class Memory:
    side: str
    peak_bytes: int
    loaded_bytes: int  # after the pipeline was built, before any call: weights (+ runtime on CPU)
    kind: str


def build_components(preset: dict, device: str, dtype):
    """Random-weight Wan components for a preset (the transformer seeded identically each time)."""
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    from imvideoedit.tiny_base import build_tokenizer
    from imvideoedit.wan_configs import NAMED_CONFIGS

    config = preset["transformer"]
    config = NAMED_CONFIGS[config] if isinstance(config, str) else config
    tokenizer = build_tokenizer()
    torch.manual_seed(0)
    with torch.device(device):
        transformer = WanTransformer3DModel(**config).eval()
        base_dim = preset["vae_base_dim"]
        vae_kwargs = (
            {} if base_dim == 96 else {"base_dim": base_dim, "dim_mult": [1, 1, 1, 1], "num_res_blocks": 1}
        )
        vae = AutoencoderKLWan(z_dim=config["in_channels"], **vae_kwargs).eval()  # float32, as Wan ships it
        text_config = UMT5Config(
            vocab_size=len(tokenizer),
            d_model=config["text_dim"],
            d_kv=64,
            d_ff=256,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=32,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.pad_token_id,
        )
        text_encoder = UMT5EncoderModel(text_config).to(dtype).eval()
    _cast_like_from_pretrained(transformer, dtype)
    scheduler = UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000, flow_shift=3.0
    )
    return {
        "tokenizer": tokenizer,
        "text_encoder": text_encoder,
        "vae": vae,
        "transformer": transformer,
        "scheduler": scheduler,
    }


def _cast_like_from_pretrained(transformer, dtype) -> None:
    """`dtype`, except the modules diffusers keeps in float32 when it loads Wan (norms, rope, ...)."""
    import torch

    keep = set(getattr(transformer, "_keep_in_fp32_modules", None) or [])
    for name, module in transformer.named_modules():
        if not list(module.children()):
            in_fp32 = any(part in keep for part in name.split("."))
            module.to(torch.float32 if in_fp32 else dtype)


def build_side(side: str, preset: dict, device: str, dtype, guidance: float):
    """A ready pipeline for `side` ("edit" or "t2v") and a function running it for n steps."""
    import numpy as np
    import torch

    components = build_components(preset, device, dtype)
    height, width, frames = preset["height"], preset["width"], preset["num_frames"]
    if side == "edit":
        from imvideoedit import AdapterConfig, attach_adapter
        from imvideoedit.pipeline import ImVideoEditPipeline

        attach_adapter(components["transformer"], AdapterConfig())
        pipe = ImVideoEditPipeline(**components)
        clip = np.random.default_rng(0).integers(0, 256, (frames, height, width, 3), dtype=np.uint8)

        def call(num_steps: int):
            return pipe(
                clip,
                PROMPT,
                negative_prompt=NEGATIVE,
                num_inference_steps=num_steps,
                guidance_scale=guidance,
                max_sequence_length=512,
                output_type="np",
                generator=torch.Generator().manual_seed(0),
            )
    else:
        from diffusers import WanPipeline

        pipe = WanPipeline(**components)

        def call(num_steps: int):
            return pipe(
                PROMPT,
                negative_prompt=NEGATIVE,
                height=height,
                width=width,
                num_frames=frames,
                num_inference_steps=num_steps,
                guidance_scale=guidance,
                max_sequence_length=512,
                output_type="np",
                generator=torch.Generator().manual_seed(0),
            )

    pipe.set_progress_bar_config(disable=True)
    return call


def measure_memory(side: str, preset: dict, device: str, dtype, guidance: float) -> Memory:
    """Peak memory of one call of `side`, in a process of its own (run as a child)."""
    import torch

    call = build_side(side, preset, device, dtype, guidance)
    cuda = device.startswith("cuda")
    loaded = torch.cuda.memory_allocated() if cuda else _rss_bytes()
    call(1)  # warm-up: kernels, allocator, lazy initialisation
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    else:
        sampler = _RssSampler()
        sampler.start()
    call(preset["steps"])
    if cuda:
        torch.cuda.synchronize()
        return Memory(side, torch.cuda.max_memory_allocated(), loaded, "CUDA peak allocated")
    return Memory(side, sampler.stop(), loaded, "peak RSS")


def measure_time(preset: dict, device: str, dtype, guidance: float, repeats: int) -> dict[str, float]:
    """Median seconds per call of each side, calls interleaved (t2v, edit, t2v, edit, ...).

    Interleaving in one process makes the ratio robust to a machine whose load drifts.
    """
    import torch

    calls = {side: build_side(side, preset, device, dtype, guidance) for side in ("t2v", "edit")}
    for call in calls.values():
        call(1)  # warm-up
    times: dict[str, list[float]] = {side: [] for side in calls}
    for _ in range(repeats):
        for side, call in calls.items():
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            started = time.perf_counter()
            call(preset["steps"])
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            times[side].append(time.perf_counter() - started)
    return {side: statistics.median(values) for side, values in times.items()}


class _RssSampler:
    """Highest resident set size of this process while running (sampled every 2 ms)."""

    def __init__(self) -> None:
        self._peak = 0
        self._running = False
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._running = True
        self._peak = _rss_bytes()
        self._thread.start()

    def stop(self) -> int:
        self._running = False
        self._thread.join()
        return max(self._peak, _rss_bytes())

    def _loop(self) -> None:
        while self._running:
            self._peak = max(self._peak, _rss_bytes())
            time.sleep(0.002)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _hardware(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores available"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=sorted(PRESETS), default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--steps", type=int, help="override the preset's denoising steps")
    parser.add_argument("--guidance", type=float, default=5.0)
    parser.add_argument("--height", type=int)
    parser.add_argument("--width", type=int)
    parser.add_argument("--num-frames", type=int)
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed calls per side (the median is reported)"
    )
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--memory-side", choices=["edit", "t2v"], help=argparse.SUPPRESS)  # child process
    args = parser.parse_args(argv)

    preset = dict(PRESETS[args.config])
    for key in ("steps", "height", "width", "num_frames"):
        if getattr(args, key) is not None:
            preset[key] = getattr(args, key)

    import torch

    dtype = getattr(torch, args.dtype)
    if args.memory_side:  # child: one side's peak memory, printed as JSON
        print(
            "RESULT "
            + json.dumps(asdict(measure_memory(args.memory_side, preset, args.device, dtype, args.guidance)))
        )
        return 0

    memory = {}
    for side in ("t2v", "edit"):
        command = [
            sys.executable,
            __file__,
            "--memory-side",
            side,
            *(argv if argv is not None else sys.argv[1:]),
        ]
        completed = subprocess.run(command, capture_output=True, text=True)
        lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
        if completed.returncode != 0 or not lines:
            print(completed.stderr[-4000:], file=sys.stderr)
            return 1
        memory[side] = Memory(**json.loads(lines[-1][len("RESULT ") :]))
    seconds = measure_time(preset, args.device, dtype, args.guidance, args.repeats)

    summary = {
        "config": args.config,
        "device": args.device,
        "hardware": _hardware(args.device),
        "dtype": args.dtype,
        "frames": preset["num_frames"],
        "height": preset["height"],
        "width": preset["width"],
        "steps": preset["steps"],
        "guidance": args.guidance,
        "repeats": args.repeats,
        "t2v_seconds": round(seconds["t2v"], 3),
        "edit_seconds": round(seconds["edit"], 3),
        "time_ratio": round(seconds["edit"] / seconds["t2v"], 2),
        "memory_kind": memory["t2v"].kind,
        "t2v_peak_mib": round(memory["t2v"].peak_bytes / 2**20, 1),
        "edit_peak_mib": round(memory["edit"].peak_bytes / 2**20, 1),
        "memory_ratio": round(memory["edit"].peak_bytes / memory["t2v"].peak_bytes, 2),
        "t2v_loaded_mib": round(memory["t2v"].loaded_bytes / 2**20, 1),
        "edit_loaded_mib": round(memory["edit"].loaded_bytes / 2**20, 1),
        "t2v_working_mib": round((memory["t2v"].peak_bytes - memory["t2v"].loaded_bytes) / 2**20, 1),
        "edit_working_mib": round((memory["edit"].peak_bytes - memory["edit"].loaded_bytes) / 2**20, 1),
    }
    print(
        "| config | device | frames x HxW | steps | t2v s | edit s | time ratio | t2v peak MiB | edit peak MiB "
        "| memory ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.config} | {summary['hardware']} ({args.dtype}) | {preset['num_frames']} x "
        f"{preset['height']}x{preset['width']} | {preset['steps']} | {summary['t2v_seconds']} | "
        f"{summary['edit_seconds']} | {summary['time_ratio']} | {summary['t2v_peak_mib']} | "
        f"{summary['edit_peak_mib']} | {summary['memory_ratio']} |"
    )
    print(
        f"memory: {summary['memory_kind']}; after loading: t2v {summary['t2v_loaded_mib']} MiB, edit "
        f"{summary['edit_loaded_mib']} MiB; peak above that: t2v {summary['t2v_working_mib']} MiB, edit "
        f"{summary['edit_working_mib']} MiB"
    )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(summary, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
