"""Validation edits during training: what the adapter currently does to a few pairs.

Every `validation.every_steps` steps the adapted transformer edits the first
`validation.num_pairs` pairs from their cached source latents: the target starts from seeded
noise and follows a short Euler loop (`flow_matching.euler_step`), the source riding along clean
at timestep 0 exactly as in training, with classifier-free guidance against the cached negative
prompt. The result is decoded with the base's VAE (loaded for the occasion, then freed) and
written as one image, a row per pair: source | edit | target. With `validation.video`, the first
`video_frames` frames of that clip are edited the same way and shown as first / middle / last
frames, source above edit.

Images go to `<run>/validation/` and to the tracker (TensorBoard or wandb).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from imvideoedit.flow_matching import euler_step, paired_model_inputs, sampling_sigmas, target_half

ROW_HEIGHT = 256  # pixels per row in the logged image


@torch.no_grad()
def edit_latents(
    model: torch.nn.Module,
    source: torch.Tensor,
    text: torch.Tensor,
    negative_text: torch.Tensor | None,
    guidance_scale: float,
    num_steps: int,
    shift: float,
    generator: torch.Generator,
    input_dtype: torch.dtype,
) -> torch.Tensor:
    """Edit clean source latents (n, C, F, h, w) under text (n, L, D) -> target latents, float32."""
    device = source.device
    x = torch.randn(source.shape, generator=generator, dtype=torch.float32).to(device)  # (n, C, F, h, w)
    sigmas = sampling_sigmas(num_steps, shift).tolist()
    n = source.shape[0]

    def velocity(context: torch.Tensor, sigma: float) -> torch.Tensor:
        sigma_batch = torch.full((n,), sigma, device=device)
        inputs = paired_model_inputs(
            source.to(input_dtype), x.to(input_dtype), sigma_batch, context.to(input_dtype)
        )
        return target_half(model(**inputs)[0]).float()  # (n, C, F, h, w)

    for sigma, sigma_next in zip(sigmas[:-1], sigmas[1:], strict=True):
        v = velocity(text, sigma)
        if negative_text is not None and guidance_scale != 1.0:
            v_negative = velocity(negative_text.expand(n, -1, -1), sigma)
            v = v_negative + guidance_scale * (v - v_negative)
        x = euler_step(x, v, sigma, sigma_next)
    return x


def latents_to_frames(latents: torch.Tensor, vae=None) -> np.ndarray:
    """(n, C, F, h, w) latents -> (n, T, H, W, 3) uint8: decoded, or a latent-channel preview."""
    if vae is not None:
        from imvideoedit.vae_latents import decode_latents

        pixels = decode_latents(vae, latents).float().cpu()  # (n, 3, T, H, W) in [-1, 1]
        frames = ((pixels + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
        return frames.permute(0, 2, 3, 4, 1).numpy()
    preview = latents[:, :3].float().cpu()  # (n, 3, F, h, w): first three channels as colours
    low = preview.amin(dim=(1, 2, 3, 4), keepdim=True)
    high = preview.amax(dim=(1, 2, 3, 4), keepdim=True)
    scaled = ((preview - low) / (high - low).clamp_min(1e-6) * 255).round().to(torch.uint8)
    return scaled.permute(0, 2, 3, 4, 1).numpy()


def grid_image(rows: list[list[np.ndarray]]) -> Image.Image:
    """Rows of (H, W, 3) frames -> one image; every frame scaled to ROW_HEIGHT pixels high."""
    row_images = []
    for row in rows:
        tiles = [Image.fromarray(frame) for frame in row]
        tiles = [
            t.resize(
                (max(1, round(t.width * ROW_HEIGHT / t.height)), ROW_HEIGHT),
                Image.Resampling.NEAREST if t.height < 64 else Image.Resampling.BICUBIC,
            )
            for t in tiles
        ]
        strip = Image.new("RGB", (sum(t.width for t in tiles), ROW_HEIGHT))
        left = 0
        for tile in tiles:
            strip.paste(tile, (left, 0))
            left += tile.width
        row_images.append(strip)
    grid = Image.new("RGB", (max(r.width for r in row_images), ROW_HEIGHT * len(row_images)))
    for index, strip in enumerate(row_images):
        grid.paste(strip, (0, index * ROW_HEIGHT))
    return grid


def log_image(accelerator, tag: str, image: Image.Image, step: int) -> None:
    """Send an image to whichever trackers the run uses."""
    array = np.asarray(image)
    for tracker in accelerator.trackers:
        if tracker.name == "tensorboard":
            tracker.writer.add_image(tag, array, step, dataformats="HWC")
            tracker.writer.flush()
        elif tracker.name == "wandb":
            import wandb

            tracker.log({tag: wandb.Image(image)}, step=step)


def validate(
    accelerator, model: torch.nn.Module, config, data, step: int, run_dir, input_dtype: torch.dtype
) -> None:
    """Edit the validation pairs (and video) with the current adapter; log and save the images.

    Every process runs the model (so sharded setups such as FSDP work); only the main process
    decodes, writes and logs.
    """
    from pathlib import Path

    from imvideoedit.training.batches import load_pairs, pad_text

    v, device, cache = config.validation, accelerator.device, data.cache
    negative = None
    if data.negative_entry is not None:
        negative = pad_text(cache.get(data.negative_entry, "text"), data.text_length)[None].to(
            device
        )  # (1, L, D)
    vae = _load_vae(config.model.base, device) if v.decode and accelerator.is_main_process else None
    edit_kwargs = {
        "negative_text": negative,
        "guidance_scale": v.guidance_scale,
        "num_steps": v.num_inference_steps,
        "shift": config.train.flow_shift,
        "input_dtype": input_dtype,
    }

    model.eval()
    rows = []
    with accelerator.autocast():
        for index, pair in enumerate(data.planned[: v.num_pairs]):
            batch = load_pairs(cache, [pair], data.text_length).to(device)
            generator = torch.Generator().manual_seed(config.train.seed + index)
            edited = edit_latents(model, batch.source, batch.text, generator=generator, **edit_kwargs)
            if accelerator.is_main_process:
                frames = [latents_to_frames(t, vae)[0, 0] for t in (batch.source, edited, batch.target)]
                rows.append(frames)
        video_rows = None
        if v.video and data.video_entry is not None:
            video_rows = _edit_video(accelerator, model, config, data, edit_kwargs, vae)
    model.train()

    if accelerator.is_main_process:
        out = Path(run_dir) / "validation"
        out.mkdir(parents=True, exist_ok=True)
        _save_and_log(
            accelerator, grid_image(rows), out / f"pairs-step-{step:08d}.png", "validation/pairs", step
        )
        if video_rows is not None:
            _save_and_log(
                accelerator,
                grid_image(video_rows),
                out / f"video-step-{step:08d}.png",
                "validation/video",
                step,
            )
    del vae
    accelerator.wait_for_everyone()


def _edit_video(accelerator, model, config, data, edit_kwargs, vae):
    """Edit the first frames of `validation.video`; rows: source frames, edited frames."""
    from imvideoedit.data.buckets import choose_bucket, image_to_video_tensor, resize_and_crop
    from imvideoedit.data.preprocess import ResizeSettings
    from imvideoedit.training.batches import pad_text
    from imvideoedit.vae_latents import encode_pixels
    from imvideoedit.video.reader import read_video

    v, d, device = config.validation, config.data, accelerator.device
    decoded = read_video(v.video)
    count = min(v.video_frames, (decoded.num_frames - 1) // 4 * 4 + 1)
    frames = decoded.frames[:count]  # (T, H, W, 3) uint8
    settings = ResizeSettings(d.height, d.width, d.bucket_step, d.max_aspect)
    bucket = choose_bucket(frames.shape[2], frames.shape[1], settings.buckets())
    pixels = torch.cat(
        [image_to_video_tensor(resize_and_crop(Image.fromarray(f), bucket)) for f in frames], dim=1
    )
    encoder = vae if vae is not None else _load_vae(config.model.base, device)
    source = encode_pixels(encoder, pixels[None]).float()  # (1, C, F, h, w)
    text = pad_text(data.cache.get(data.video_entry, "text"), data.text_length)[None].to(device)  # (1, L, D)
    generator = torch.Generator().manual_seed(config.train.seed)
    edited = edit_latents(model, source.to(device), text, generator=generator, **edit_kwargs)
    if not accelerator.is_main_process:
        return None
    source_frames = latents_to_frames(source, vae)[0]
    edited_frames = latents_to_frames(edited, vae)[0]
    picks = sorted({0, len(source_frames) // 2, len(source_frames) - 1})
    return [[source_frames[i] for i in picks], [edited_frames[i] for i in picks]]


def _load_vae(base: str, device):
    from imvideoedit.data.encoders import load_vae

    return load_vae(base, device, torch.float32)


def _save_and_log(accelerator, image: Image.Image, path, tag: str, step: int) -> None:
    from imvideoedit.atomic_write import atomic_path

    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    log_image(accelerator, tag, image, step)
