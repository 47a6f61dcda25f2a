"""`ImVideoEditPipeline`: edit a video with a frozen Wan transformer carrying the ImVideoEdit adapter.

A diffusers `DiffusionPipeline` with Wan's own components (transformer with the adapter attached,
`AutoencoderKLWan`, UMT5 text encoder and tokenizer, a flow-matching scheduler), so loading,
`.to(device)`, `enable_model_cpu_offload()` and dtype choice are diffusers' own.

Inference (docs/editing.md, "From the source to the model and back"): the source clip is fitted to the model (4k+1 frames at 16 fps, sides
multiples of 16) and VAE-encoded to clean latents. The target starts from noise, or at
`strength < 1` from the source noised to the first kept step (SDEdit). At every step one
transformer forward carries the paired batch of training (docs/training.md): the source stream at timestep 0
and the target stream at t. With classifier-free guidance both passes carry the source and differ
only in their text (edited prompt vs negative prompt); they share one forward laid out as

    hidden   = [source, source | target, target]          (4b items: first half | second half)
    timestep = [0,      0      | t,      t     ]
    text     = [cond,   uncond | cond,   uncond]

which keeps the adapter's pairing (item i of the first half with item i of the second half).
"""

from __future__ import annotations

import dataclasses
import numbers
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor

from imvideoedit.adapter_config import AdapterConfig
from imvideoedit.errors import UserError
from imvideoedit.pixel_space_vae import PixelSpaceVAE  # noqa: F401 - diffusers loads only imported component classes
from imvideoedit.text_encoding import clean_prompt, encode_prompts
from imvideoedit.vae_latents import decode_latents, encode_pixels
from imvideoedit.video.clip import ClipSpec, PreparedClip, load_clip, prepare_clip
from imvideoedit.video.reader import DecodedVideo

VideoInput = str | os.PathLike | DecodedVideo | PreparedClip | np.ndarray


@dataclass
class ImVideoEditPipelineOutput(BaseOutput):
    """frames: (b, T, H, W, 3) in [0, 1] ("np"), uint8 ("uint8"), a tensor ("pt": (b, T, 3, H, W)
    in [0, 1], as diffusers' video pipelines give) or latents ("latent"); clip: the prepared
    source with its frame/geometry mapping."""

    frames: np.ndarray | torch.Tensor
    clip: PreparedClip


class ImVideoEditPipeline(DiffusionPipeline):
    model_cpu_offload_seq = "text_encoder->transformer->vae"
    _callback_tensor_inputs = ["latents", "source_latents", "prompt_embeds", "negative_prompt_embeds"]

    def __init__(self, tokenizer, text_encoder, vae, transformer, scheduler) -> None:
        super().__init__()
        self.register_modules(
            tokenizer=tokenizer,
            text_encoder=text_encoder,
            vae=vae,
            transformer=transformer,
            scheduler=scheduler,
        )
        self.vae_scale_factor_temporal = self.vae.config.scale_factor_temporal if self.vae is not None else 4
        self.vae_scale_factor_spatial = self.vae.config.scale_factor_spatial if self.vae is not None else 8
        self.adapter_config: AdapterConfig | None = None
        self.adapter_path: str | None = None

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        adapter: str | os.PathLike | None = None,
        check_base_weights: bool = True,
        **kwargs: Any,
    ) -> ImVideoEditPipeline:
        """Load a Wan base (local diffusers folder or hub id) with diffusers, then the adapter file.

        Other keyword arguments (`dtype`, `variant`, `local_files_only`, ...) go to diffusers.
        An adapter made for another base raises UserError naming both.
        """
        base = str(pretrained_model_name_or_path)
        if adapter is not None and not Path(adapter).is_file():
            raise UserError(f"adapter file not found: {adapter}")
        if Path(base).exists() and not (Path(base) / "model_index.json").is_file():
            raise UserError(f"{base} is not a diffusers pipeline folder (no model_index.json)")
        try:
            pipe = super().from_pretrained(base, **kwargs)
        except (OSError, ValueError) as error:
            raise UserError(f"could not load the Wan base {base!r}: {' '.join(str(error).split())}") from None
        if adapter is not None:
            pipe.load_adapter(adapter, check_base_weights=check_base_weights)
        return pipe

    def load_adapter(self, path: str | os.PathLike, check_base_weights: bool = True) -> AdapterConfig:
        """Attach the adapter stored at `path` to this pipeline's transformer and load its weights."""
        from imvideoedit.adapter_io import load_adapter

        self.adapter_config = load_adapter(self.transformer, path, check_base_weights=check_base_weights)
        self.adapter_path = str(path)
        self.transformer.eval()
        return self.adapter_config

    def enable_vae_tiling(self) -> None:
        """Decode/encode the VAE in spatial tiles: large frames in less memory."""
        self.vae.enable_tiling()

    def enable_vae_slicing(self) -> None:
        """Run the VAE one batch item at a time."""
        self.vae.enable_slicing()

    # ------------------------------------------------------------------ steps of __call__

    def check_inputs(
        self,
        prompt: str | list[str],
        negative_prompt: str | list[str] | None,
        num_inference_steps: int,
        guidance_scale: float,
        strength: float,
        callback_on_step_end_tensor_inputs: list[str],
    ) -> None:
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if not prompts or any(not isinstance(p, str) or not clean_prompt(p) for p in prompts):
            raise UserError("the edit prompt is empty; describe the edited video")
        if isinstance(negative_prompt, list) and len(negative_prompt) != len(prompts):
            raise UserError(f"{len(negative_prompt)} negative prompts for {len(prompts)} prompts")
        if not isinstance(num_inference_steps, int) or num_inference_steps < 1:
            raise UserError(f"num_inference_steps must be a positive integer, got {num_inference_steps!r}")
        if (
            not isinstance(guidance_scale, numbers.Real)
            or isinstance(guidance_scale, bool)
            or not (1.0 <= guidance_scale < float("inf"))
        ):
            raise UserError(
                f"guidance_scale must be a finite number >= 1 (1: no guidance), got {guidance_scale!r}"
            )
        if not 0.0 < strength <= 1.0:
            raise UserError(f"strength must be in (0, 1], got {strength}")
        if int(num_inference_steps * strength) < 1:
            raise UserError(
                f"strength {strength} keeps no step of {num_inference_steps}; raise the strength or the steps"
            )
        unknown = [k for k in callback_on_step_end_tensor_inputs if k not in self._callback_tensor_inputs]
        if unknown:
            raise ValueError(
                f"callback tensor inputs must be among {self._callback_tensor_inputs}, got {unknown}"
            )

    def prepare_clip(
        self, video: VideoInput, spec: ClipSpec, num_frames: int | None, height: int | None, width: int | None
    ) -> PreparedClip:
        """Any accepted video input -> a `PreparedClip` on the model grid (4k+1 frames)."""
        overrides = {k: v for k, v in (("num_frames", num_frames), ("height", height), ("width", width)) if v}
        spec = dataclasses.replace(spec, **overrides)
        if isinstance(video, PreparedClip):
            asked = {
                "num_frames": video.timing.num_frames,
                "height": video.geometry.height,
                "width": video.geometry.width,
            }
            conflicts = [f"{k}={v} (clip has {asked[k]})" for k, v in overrides.items() if asked[k] != v]
            if conflicts:
                raise UserError(f"the prepared clip does not match {', '.join(conflicts)}; prepare it again")
            return video
        if isinstance(video, (str, os.PathLike)):
            return load_clip(video, spec)
        if isinstance(video, np.ndarray):
            video = _frames_as_video(video, spec.model_fps or 16.0)
        if isinstance(video, DecodedVideo):
            return prepare_clip(video, spec)
        raise UserError(
            f"video must be a path, a DecodedVideo, a PreparedClip or an array, got {type(video).__name__}"
        )

    def encode_prompt(
        self, prompts: list[str], negative_prompts: list[str] | None, max_sequence_length: int | None, device
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(b, L, text_dim) embeddings of the prompts, and of the negative prompts when guiding."""
        dtype = self.transformer.dtype
        prompt_embeds = encode_prompts(
            self.tokenizer, self.text_encoder, prompts, max_sequence_length, device=device, dtype=dtype
        )
        if negative_prompts is None:
            return prompt_embeds, None
        negative_embeds = encode_prompts(
            self.tokenizer,
            self.text_encoder,
            negative_prompts,
            max_sequence_length,
            device=device,
            dtype=dtype,
        )
        return prompt_embeds, negative_embeds

    def get_timesteps(self, num_inference_steps: int, strength: float, device) -> torch.Tensor:
        """The scheduler's timesteps, without the first (1 - strength) share (SDEdit)."""
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        kept = min(int(num_inference_steps * strength), num_inference_steps)
        start = (num_inference_steps - kept) * self.scheduler.order
        if hasattr(self.scheduler, "set_begin_index"):
            self.scheduler.set_begin_index(start)
        return self.scheduler.timesteps[start:]

    def prepare_latents(
        self,
        clip: PreparedClip,
        batch_size: int,
        first_timestep: torch.Tensor,
        strength: float,
        generator: torch.Generator | list[torch.Generator] | None,
        device,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Clean source latents and the target's starting latents, both (b, C, F, H/8, W/8) fp32."""
        pixels = torch.from_numpy(clip.frames).permute(3, 0, 1, 2)[None]  # (1, 3, T, H, W) uint8
        pixels = pixels.to(device=device, dtype=torch.float32) / 127.5 - 1.0  # [-1, 1]
        source_latents = encode_pixels(self.vae, pixels).to(device=device, dtype=torch.float32)
        source_latents = source_latents.expand(batch_size, -1, -1, -1, -1).contiguous()
        noise = randn_tensor(source_latents.shape, generator=generator, device=device, dtype=torch.float32)
        if strength >= 1.0:
            return source_latents, noise
        start = first_timestep.expand(batch_size)
        if hasattr(self.scheduler, "add_noise"):
            latents = self.scheduler.add_noise(source_latents, noise, start)
        else:
            latents = self.scheduler.scale_noise(source_latents, start, noise)
        return source_latents, latents

    def decode(self, latents: torch.Tensor, output_type: str) -> np.ndarray | torch.Tensor:
        if output_type == "latent":
            return latents
        pixels = decode_latents(self.vae, latents).float()  # (b, 3, T, H, W) in [-1, 1]
        if output_type == "pt":  # diffusers' layout and range: (b, T, 3, H, W) in [0, 1]
            return ((pixels + 1.0) / 2.0).clamp(0.0, 1.0).permute(0, 2, 1, 3, 4)
        video = ((pixels + 1.0) / 2.0).permute(0, 2, 3, 4, 1).cpu().numpy()  # (b, T, H, W, 3) in [0, 1]
        if output_type == "uint8":
            return np.clip(np.rint(video * 255.0), 0, 255).astype(np.uint8)
        if output_type == "np":
            return video
        raise ValueError(f"output_type must be 'np', 'uint8', 'pt' or 'latent', got {output_type!r}")

    @property
    def guidance_scale(self) -> float:
        return self._guidance_scale

    @property
    def do_classifier_free_guidance(self) -> bool:
        return self._guidance_scale > 1.0

    @property
    def num_timesteps(self) -> int:
        return self._num_timesteps

    @property
    def interrupt(self) -> bool:
        return self._interrupt

    # ------------------------------------------------------------------ the edit

    @torch.no_grad()
    def __call__(
        self,
        video: VideoInput,
        prompt: str | list[str],
        negative_prompt: str | list[str] | None = None,
        num_inference_steps: int = 50,
        guidance_scale: float = 5.0,
        strength: float = 1.0,
        num_frames: int | None = None,
        height: int | None = None,
        width: int | None = None,
        generator: torch.Generator | list[torch.Generator] | None = None,
        output_type: str = "np",
        clip_spec: ClipSpec | None = None,
        max_sequence_length: int | None = None,
        callback_on_step_end: Callable[..., dict] | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
        return_dict: bool = True,
    ) -> ImVideoEditPipelineOutput | tuple:
        """Edit `video` so that it matches `prompt` (a description of the whole edited scene).

        video: a file path, a `DecodedVideo`, a `PreparedClip`, or frames (T, H, W, 3) uint8 taken
            to be at the model's frame rate. num_frames (4k+1) / height / width (multiples of 16)
            override `clip_spec`; by default they follow the source, fitted to the model.
        strength: 1 starts from pure noise; below 1 from the source noised to that level.
        A list of prompts edits the same clip once per prompt (batch b).
        max_sequence_length: padded prompt length; None follows the base's tokenizer (512 for Wan2.1).
        return_dict: False returns `(frames, clip)`, as diffusers' pipelines return plain tuples.
        """
        callback_inputs = list(callback_on_step_end_tensor_inputs or ["latents"])
        self.check_inputs(
            prompt, negative_prompt, num_inference_steps, guidance_scale, strength, callback_inputs
        )
        self._guidance_scale = guidance_scale
        self._interrupt = False
        device = self._execution_device
        if self.adapter_config is None:
            from imvideoedit.injection import has_adapter

            if not has_adapter(self.transformer):
                raise UserError(
                    "the transformer has no ImVideoEdit adapter; pass adapter= or call load_adapter()"
                )

        # 1. The source clip on the model grid, with its mapping back to the source.
        clip = self.prepare_clip(video, clip_spec or ClipSpec(), num_frames, height, width)

        # 2. Text: the edited prompt, and the negative prompt for the unconditional pass.
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        batch_size = len(prompts)
        negatives = None
        if self.do_classifier_free_guidance:
            negative = negative_prompt if negative_prompt is not None else ""
            negatives = [negative] * batch_size if isinstance(negative, str) else list(negative)
        prompt_embeds, negative_prompt_embeds = self.encode_prompt(
            prompts, negatives, max_sequence_length, device
        )

        # 3. Timesteps (the tail kept by `strength`) and the starting latents.
        timesteps = self.get_timesteps(num_inference_steps, strength, device)
        self._num_timesteps = len(timesteps)
        source_latents, latents = self.prepare_latents(
            clip, batch_size, timesteps[:1], strength, generator, device
        )  # both (b, C, F, h, w)

        # 4. Denoising loop: the paired batch [sources | targets], the source always at t = 0.
        transformer_dtype = self.transformer.dtype
        source_input = source_latents.to(transformer_dtype)
        if self.do_classifier_free_guidance:
            text = torch.cat([prompt_embeds, negative_prompt_embeds, prompt_embeds, negative_prompt_embeds])
            sources = torch.cat([source_input, source_input])  # (2b, C, F, h, w): cond | uncond
        else:
            text = torch.cat([prompt_embeds, prompt_embeds])
            sources = source_input  # (b, C, F, h, w)
        half = sources.shape[0]

        with self.progress_bar(total=len(timesteps)) as progress_bar:
            for i, t in enumerate(timesteps):
                if self.interrupt:
                    continue
                targets = latents.to(transformer_dtype)
                if self.do_classifier_free_guidance:
                    targets = torch.cat([targets, targets])  # (2b, ...): cond | uncond
                hidden = torch.cat([sources, targets])  # (2 * half, C, F, h, w)
                t_half = t.expand(half)
                timestep = torch.cat([torch.zeros_like(t_half), t_half])  # (2 * half,)
                velocity = self.transformer(
                    hidden_states=hidden, timestep=timestep, encoder_hidden_states=text, return_dict=False
                )[0][half:].float()  # the target stream's velocity, (half, C, F, h, w)
                if self.do_classifier_free_guidance:
                    cond, uncond = velocity.chunk(2)  # (b, ...) each
                    velocity = uncond + guidance_scale * (cond - uncond)
                latents = self.scheduler.step(velocity, t, latents, return_dict=False)[0]

                if callback_on_step_end is not None:
                    values = {
                        "latents": latents,
                        "source_latents": source_latents,
                        "prompt_embeds": prompt_embeds,
                        "negative_prompt_embeds": negative_prompt_embeds,
                    }
                    outputs = callback_on_step_end(self, i, t, {k: values[k] for k in callback_inputs}) or {}
                    latents = outputs.pop("latents", latents)
                progress_bar.update()

        # 5. Decode the target only.
        frames = self.decode(latents, output_type)
        self.maybe_free_model_hooks()
        if not return_dict:
            return frames, clip
        return ImVideoEditPipelineOutput(frames=frames, clip=clip)


def _frames_as_video(frames: np.ndarray, fps: float) -> DecodedVideo:
    """Wrap (T, H, W, 3) uint8 frames given at `fps` as a decoded clip (no audio)."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise UserError(f"video frames must be a (T, H, W, 3) uint8 array, got {frames.shape} {frames.dtype}")
    if frames.shape[0] < 2:
        raise UserError(f"video has {frames.shape[0]} frame(s); at least 2 are needed")
    count = frames.shape[0]
    return DecodedVideo(
        frames=frames,
        fps=float(fps),
        timestamps=np.arange(count) / float(fps),
        has_audio=False,
        source_path="<array>",
        frame_duration=1.0 / float(fps),
    )
