"""Training throughput and peak memory for one configuration, on synthetic batches.

Measures the trainer's optimizer step (paired forward, target-half loss, backward, clipping,
AdamW) with a config's precision recipe, adapter mode and gradient checkpointing, on random
latents and prompt embeddings of the right shapes: no dataset, VAE or text encoder is needed, and
the base can be a named architecture with random weights. Prints one table row, and the memory
`imvideoedit info` estimates for the same base and adapter next to the measured peak.

    python benchmarks/train_throughput.py --preset tiny
    python benchmarks/train_throughput.py --preset medium --steps 5
    python benchmarks/train_throughput.py --preset 1.3b --mode lora      # a GPU with bf16

Presets (each is a config plus a transformer architecture):
    tiny    the tiny Wan architecture (`imvideoedit tiny-base`), configs/tiny_cpu.toml, 64x64, batch 2
    medium  Wan2.1's head size and text width at 4 layers x 4 heads (dim 512), 256x256, batch 1, fp32
    1.3b    Wan2.1-T2V-1.3B with random weights, configs/paper_1.3b.toml, 480x832, batch 1, bf16
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from imvideoedit.training.config import load_training_config  # noqa: E402

PRESETS = {
    "tiny": {
        "config": "configs/tiny_cpu.toml",
        "architecture": "tiny",
        "overrides": ["model.base=tiny"],
    },
    "medium": {
        "config": "configs/tiny_cpu.toml",
        "architecture": {
            "num_attention_heads": 4,
            "num_layers": 4,
            "ffn_dim": 2048,
        },  # on top of 1.3B's config
        "overrides": [
            "data.height=256",
            "data.width=256",
            "train.per_device_batch_size=1",
            "train.global_batch_size=1",
        ],
    },
    "1.3b": {
        "config": "configs/paper_1.3b.toml",
        "architecture": "wan2.1-t2v-1.3b",
        "overrides": [
            "model.base=wan2.1-t2v-1.3b",
            "train.per_device_batch_size=1",
            "train.global_batch_size=1",
        ],
    },
}


def build_architecture(architecture, dtype: torch.dtype, device: str):
    """A random-weight transformer (on `device`, or "meta" for counting only)."""
    from diffusers import WanTransformer3DModel

    from imvideoedit.wan_configs import NAMED_CONFIGS

    if isinstance(architecture, str):
        config = dict(NAMED_CONFIGS[architecture])
    else:
        config = {**NAMED_CONFIGS["wan2.1-t2v-1.3b"], **architecture}
    with torch.device(device):
        model = WanTransformer3DModel(**config)
    if device != "meta":  # like from_pretrained(torch_dtype=...): diffusers' fp32 modules stay fp32
        keep = model._keep_in_fp32_modules or []
        for name, param in model.named_parameters():
            if not any(part in keep for part in name.split(".")):
                param.data = param.data.to(dtype)
    return model


def estimate(architecture, config) -> tuple[int, float, str]:
    """(trainable params, GiB for weights + grads + optimizer, recipe name) as `imvideoedit info` computes."""
    from imvideoedit.param_report import count_parameters, memory_table

    counts = count_parameters(build_architecture(architecture, torch.float32, "meta"), config.adapter)
    if config.optim.eight_bit:
        recipe = "bf16 weights, 8-bit AdamW"
    elif config.model.weights_dtype == "float32":
        recipe = "fp32 weights, fp32 AdamW"
    else:
        recipe = "bf16 weights + fp32 master, fp32 AdamW"
    total = {row[0]: row[-1] for row in memory_table(counts)}[recipe]
    return counts.trainable, total, recipe


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU"


def readable(num_bytes: float) -> str:
    return f"{num_bytes / 2**30:.2f} GiB" if num_bytes >= 2**30 / 10 else f"{num_bytes / 2**20:.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", choices=PRESETS, default="tiny")
    parser.add_argument(
        "--mode", choices=("full", "lora"), default=None, help="adapter mode (default: the config's)"
    )
    parser.add_argument("--steps", type=int, default=10, help="timed optimizer steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    from accelerate import Accelerator

    from imvideoedit.training.batches import PairBatch, flow_matching_loss
    from imvideoedit.training.memory import GIB, memory_kind, peak_memory_bytes, reset_peak_memory
    from imvideoedit.training.model_setup import DTYPES, build_optimizer, make_trainable, trainable_parameters

    preset = PRESETS[args.preset]
    overrides = preset["overrides"] + (["adapter.mode=" + args.mode] if args.mode else []) + args.overrides
    config = load_training_config(REPO / preset["config"], overrides)
    accelerator = Accelerator(mixed_precision=config.train.mixed_precision)
    device = accelerator.device

    torch.manual_seed(0)
    weights_dtype = DTYPES[config.model.weights_dtype]
    transformer = build_architecture(preset["architecture"], weights_dtype, "cpu")
    make_trainable(transformer, config.model, config.adapter)
    params = trainable_parameters(transformer)
    optimizer = build_optimizer(params, config.optim)
    model, optimizer = accelerator.prepare(transformer, optimizer)
    reset_peak_memory(device)

    b = config.train.per_device_batch_size
    z, text_dim = transformer.config.in_channels, transformer.config.text_dim
    shape = (b, z, 1, config.data.height // 8, config.data.width // 8)  # one latent frame per image
    generator = torch.Generator().manual_seed(0)
    batch = PairBatch(
        torch.randn(shape, generator=generator),
        torch.randn(shape, generator=generator),
        torch.randn(b, config.data.max_tokens or 512, text_dim, generator=generator),
    ).to(device)

    def step() -> float:
        sigma = torch.rand(b, generator=generator)
        noise = torch.randn(shape, generator=generator)
        loss = flow_matching_loss(model, batch, sigma, noise, weights_dtype)
        accelerator.backward(loss)
        if config.optim.max_grad_norm > 0:
            accelerator.clip_grad_norm_(params, config.optim.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    def synchronize() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        synchronize()
        started = time.perf_counter()
        step()
        synchronize()
        times.append(time.perf_counter() - started)
    seconds = statistics.median(times)  # robust to the odd slow step on a shared machine
    peak = peak_memory_bytes(device)
    trainable, estimated, recipe = estimate(preset["architecture"], config)

    hardware = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{cpu_name()}, {torch.get_num_threads()} torch threads"
    )
    print(f"hardware: {hardware}; torch {torch.__version__}")
    print(
        f"recipe: {recipe}; mixed precision {config.train.mixed_precision}; gradient checkpointing {config.model.gradient_checkpointing}"
    )
    header = "| preset | mode | size | batch | trainable | s/step (median) | pairs/s | peak memory | info estimate (no activations) |"
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    print(
        f"| {args.preset} | {config.adapter.mode} | {config.data.height}x{config.data.width} | {b} | {trainable:,} | "
        f"{seconds:.3f} | {b / seconds:.2f} | {readable(peak)} ({memory_kind(device)}) | {readable(estimated * GIB)} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
