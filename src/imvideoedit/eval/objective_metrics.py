"""Video metrics that need no learned weights: OpenCV optical flow and image statistics.

All take frames as numpy arrays, (T, H, W, 3) uint8 RGB, so they are testable on synthetic
clips. Flow-based metrics run at a working resolution (longer side `working_max_side`, default
256 px) to keep CPU cost low; the EPE is in pixels of that resolution.

Single-video metrics (computed for edits and for sources alike):
- `warp_error`: temporal consistency as flow-warped frame error. For each consecutive pair the
  next frame is predicted by warping the previous one along the Farneback flow; the mean
  absolute RGB error (0-1 scale) over non-occluded pixels (forward-backward check), averaged
  over pairs. Lower is better.
- `flicker`: brightness flicker. Frames are split into a `flicker_grid` x `flicker_grid` grid;
  for each cell the mean luma over time, L_t (0-1 scale), is compared with the average of its
  neighbours, |L_t - (L_{t-1} + L_{t+1}) / 2|; averaged over cells and frames. Smooth changes
  (fades, steady motion) score near 0; frame-to-frame oscillation scores high. Lower is better.
- `dynamic_degree_farneback`: VBench's dynamic-degree rule with OpenCV Farneback flow in place
  of RAFT (see `dynamic_degree_farneback`). 1 if the clip counts as dynamic, else 0; its mean
  over clips is the share of dynamic clips, as in VBench. Not comparable digit for digit with
  VBench's RAFT numbers, hence the name.

A clip's flows (`ClipFlows`: forward and backward, at the working size) are computed once and
shared by the warp error and the motion fidelity, and the source's once per case.

Source-versus-edit metrics (the pair is aligned first: cut to the time span both cover, by
each clip's frame rate, each frame of the clip with fewer frames there paired with the other's
nearest in time, and the edit resized to the source's working size):
- `motion_fidelity_epe`: mean end-point error between the edit's Farneback flow and the
  source's, in working-resolution pixels. 0 means the edit moves exactly as the source.
- `structure_ssim`: mean SSIM (Wang et al. 2004; 11x11 Gaussian window, sigma 1.5) between
  source and edit luma, frame by frame. 1 means identical structure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from imvideoedit.eval.flow import (
    FarnebackParams,
    consistent_flow_mask,
    farneback_flow,
    resize_frames,
    resize_to,
    to_gray,
    warp,
)


@dataclass(frozen=True)
class ObjectiveConfig:
    working_max_side: int = 256  # flow and SSIM resolution (longer side)
    dynamic_degree_min_side: int | None = 256  # dynamic degree resolution (shorter side); None: full
    farneback: FarnebackParams = field(default_factory=FarnebackParams)
    flicker_grid: int = 4


@dataclass(frozen=True)
class DynamicDegree:
    """VBench's verdict for one clip, with what it was based on."""

    is_dynamic: bool
    pair_scores: tuple[float, ...]  # mean of the top 5% flow magnitudes per sampled pair
    threshold: float
    pairs_needed: int


@dataclass(frozen=True)
class ClipFlows:
    """A clip at the working size and its Farneback flows between consecutive frames."""

    frames: np.ndarray  # (T, h, w, 3) uint8
    forward: np.ndarray  # (T-1, h, w, 2) float32: frame t -> t+1
    backward: np.ndarray  # (T-1, h, w, 2) float32: frame t+1 -> t

    @property
    def size(self) -> tuple[int, int]:
        return (int(self.frames.shape[1]), int(self.frames.shape[2]))


def clip_flows(
    frames: np.ndarray, config: ObjectiveConfig = ObjectiveConfig(), size: tuple[int, int] | None = None
) -> ClipFlows:
    """Flows of `frames` scaled to `size` (h, w), or to the working resolution when None."""
    small = resize_to(frames, *size) if size is not None else resize_frames(frames, config.working_max_side)
    grays = [to_gray(frame) for frame in small]
    height, width = small.shape[1:3]
    forward = np.zeros((max(len(small) - 1, 0), height, width, 2), np.float32)
    backward = np.zeros_like(forward)
    for t in range(len(small) - 1):
        forward[t] = farneback_flow(grays[t], grays[t + 1], config.farneback)
        backward[t] = farneback_flow(grays[t + 1], grays[t], config.farneback)
    return ClipFlows(small, forward, backward)


def warp_error_from(flows: ClipFlows) -> float | None:
    """Mean absolute error (0-1) of each frame against the previous one warped onto it."""
    frames = flows.frames
    errors: list[float] = []
    for t in range(len(frames) - 1):
        predicted, inside = warp(frames[t], flows.backward[t])  # frame t pulled onto frame t+1's grid
        valid = inside & consistent_flow_mask(flows.backward[t], flows.forward[t])
        if not valid.any():
            continue
        difference = np.abs(predicted - frames[t + 1].astype(np.float32)).mean(-1)  # (h, w)
        errors.append(float(difference[valid].mean()) / 255.0)
    return float(np.mean(errors)) if errors else None


def warp_error(frames: np.ndarray, config: ObjectiveConfig = ObjectiveConfig()) -> float | None:
    return warp_error_from(clip_flows(frames, config))


def flow_epe(source: ClipFlows, edited: ClipFlows) -> float | None:
    """Mean end-point error between two clips' forward flows (same length and size)."""
    if source.forward.shape != edited.forward.shape:
        raise ValueError(f"flows differ in shape: {source.forward.shape} vs {edited.forward.shape}")
    if len(source.forward) == 0:
        return None
    return float(np.linalg.norm(edited.forward - source.forward, axis=-1).mean())


def flicker(frames: np.ndarray, config: ObjectiveConfig = ObjectiveConfig()) -> float | None:
    """Mean |L_t - (L_{t-1} + L_{t+1}) / 2| of grid-cell mean luma (0-1 scale)."""
    if frames.shape[0] < 3:
        return None
    grid = config.flicker_grid
    cells = (
        np.stack(
            [
                cv2.resize(
                    to_gray(frame).astype(np.float32), (grid, grid), interpolation=cv2.INTER_AREA
                ).ravel()
                for frame in frames
            ]
        )
        / 255.0
    )  # (T, grid * grid): each cell's mean luma
    deviation = cells[1:-1] - 0.5 * (cells[:-2] + cells[2:])
    return float(np.abs(deviation).mean())


def dynamic_degree_farneback(
    frames: np.ndarray, fps: float, params: FarnebackParams = FarnebackParams(), min_side: int | None = None
) -> DynamicDegree:
    """VBench's dynamic-degree rule, with OpenCV Farneback flow instead of RAFT.

    The rule (VBench, `dynamic_degree.py`): keep every round(fps / 8)-th frame (about 8 fps);
    for each consecutive kept pair take the flow magnitude and average its top 5% values; a pair
    "moves" if that exceeds max(1, 8 / fps) * 6 * min(H, W) / 256; the clip is dynamic once
    round(4 * kept / 16) pairs move. VBench runs at full resolution; the threshold scales with
    the frame size, so `min_side` (scale the shorter side down to it) keeps the rule while
    saving time.
    """
    interval = max(1, round(fps / 8))
    kept = frames[::interval]
    if min_side and min(kept.shape[1:3]) > min_side:
        scale = min_side / min(kept.shape[1:3])
        kept = resize_to(kept, round(kept.shape[1] * scale), round(kept.shape[2] * scale))
    height, width = kept.shape[1:3]
    threshold = max(1.0, 8.0 / fps) * 6.0 * (min(height, width) / 256.0)
    pairs_needed = round(4 * (len(kept) / 16.0))
    grays = [to_gray(frame) for frame in kept]
    scores: list[float] = []
    for first, second in zip(grays[:-1], grays[1:], strict=True):
        magnitude = np.linalg.norm(farneback_flow(first, second, params), axis=-1).ravel()
        top = int(magnitude.size * 0.05)
        scores.append(float(np.sort(magnitude)[::-1][:top].mean()) if top else 0.0)
    moving = 0
    is_dynamic = False
    for score in scores:  # VBench counts in order and stops as soon as the count is reached
        moving += score > threshold
        if moving >= pairs_needed:
            is_dynamic = True
            break
    return DynamicDegree(is_dynamic, tuple(scores), threshold, pairs_needed)


def align_in_time(
    first: np.ndarray, second: np.ndarray, first_fps: float | None = None, second_fps: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Both clips over their common time span, frame for frame.

    With both rates given, each clip is cut to the span both cover (frame i shows time i / fps),
    and each frame of the clip with fewer frames there is paired with the other clip's frame
    nearest in time: an edit of the first five seconds of a ten-second source is compared with
    those five seconds, not with the whole source stretched over it. Without rates, frame counts
    say nothing about time, and both whole clips are sampled evenly to the shorter count.
    """
    if _usable_rate(first_fps) and _usable_rate(second_fps):
        span = min(len(first) / first_fps, len(second) / second_fps)  # seconds both clips cover
        first = first[: max(1, min(len(first), round(span * first_fps)))]
        second = second[: max(1, min(len(second), round(span * second_fps)))]
        swap = len(second) < len(first)
        (short, short_fps), (long, long_fps) = sorted(
            ((first, first_fps), (second, second_fps)), key=lambda clip: len(clip[0])
        )
        nearest = np.minimum(
            np.round(np.arange(len(short)) / short_fps * long_fps).astype(int), len(long) - 1
        )
        return (long[nearest], short) if swap else (short, long[nearest])
    count = min(len(first), len(second))

    def pick(frames: np.ndarray) -> np.ndarray:
        if len(frames) == count:
            return frames
        return frames[np.round(np.linspace(0, len(frames) - 1, count)).astype(int)]

    return pick(first), pick(second)


def _usable_rate(fps: float | None) -> bool:
    return fps is not None and math.isfinite(fps) and fps > 0


def motion_fidelity_epe(
    source: np.ndarray,
    edited: np.ndarray,
    config: ObjectiveConfig = ObjectiveConfig(),
    source_fps: float | None = None,
    edited_fps: float | None = None,
) -> float | None:
    """Mean end-point error (px) between the edit's flow and the source's, pair by pair."""
    source, edited = align_in_time(source, edited, source_fps, edited_fps)
    source_flows = clip_flows(source, config)
    return flow_epe(source_flows, clip_flows(edited, config, size=source_flows.size))


def structure_ssim(
    source: np.ndarray,
    edited: np.ndarray,
    config: ObjectiveConfig = ObjectiveConfig(),
    source_fps: float | None = None,
    edited_fps: float | None = None,
) -> float:
    """Mean SSIM between source and edit luma over aligned frames (1 = identical)."""
    source, edited = align_in_time(source, edited, source_fps, edited_fps)
    source = resize_frames(source, config.working_max_side)
    edited = resize_to(edited, *source.shape[1:3])
    return float(np.mean([ssim(to_gray(a), to_gray(b)) for a, b in zip(source, edited, strict=True)]))


def ssim(first: np.ndarray, second: np.ndarray) -> float:
    """SSIM of two (H, W) uint8 images, Gaussian window 11x11 sigma 1.5, K1=0.01, K2=0.03."""
    x = first.astype(np.float64)
    y = second.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(image: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(image, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    denominator = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return float((numerator / denominator).mean())


def clip_metrics(
    frames: np.ndarray,
    fps: float,
    source_frames: np.ndarray,
    source_flows: ClipFlows,
    config: ObjectiveConfig = ObjectiveConfig(),
    flows: ClipFlows | None = None,
    source_fps: float | None = None,
) -> dict[str, float | None]:
    """Every objective metric of one clip, alone and against its source (whose flows are given).

    The clip's own flows serve the warp error and, when the clip matches the source in length,
    frame rate and working size, the motion fidelity too; otherwise the pair is aligned in time
    first (`align_in_time`; by frame times when `source_fps` is given).
    """
    flows = flows if flows is not None else clip_flows(frames, config)
    same_rate = source_fps is None or abs(fps - source_fps) <= 1e-3 * source_fps
    if same_rate and flows.forward.shape == source_flows.forward.shape:
        epe = flow_epe(source_flows, flows)
    else:
        epe = motion_fidelity_epe(source_frames, frames, config, source_fps, fps if source_fps else None)
    dynamic = dynamic_degree_farneback(frames, fps, config.farneback, config.dynamic_degree_min_side)
    return {
        "warp_error": warp_error_from(flows),
        "flicker": flicker(frames, config),
        "dynamic_degree_farneback": float(dynamic.is_dynamic),
        "motion_fidelity_epe": epe,
        "structure_ssim": structure_ssim(
            source_frames, frames, config, source_fps, fps if source_fps else None
        ),
    }
