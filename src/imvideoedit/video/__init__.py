"""Video in and out for editing: decode, fit to the model, and write the edit back.

read_video      decode a file (any codec/rate, rotation applied, audio described)
prepare_clip    4k+1 frames at the model rate on the model grid, mapping recorded
load_clip       read_video + prepare_clip, decoding only what is needed
render_edit     the model's edit back on the source's clock and size
write_edit      render_edit + H.264 MP4 with the source's audio, atomically
write_video     the plain writer
"""

from __future__ import annotations

from imvideoedit.video.clip import ClipSpec, PreparedClip, load_clip, prepare_clip
from imvideoedit.video.colour import match_colour
from imvideoedit.video.geometry import Geometry, plan_geometry
from imvideoedit.video.reader import AudioInfo, DecodedVideo, probe_video, read_video
from imvideoedit.video.render import OutputSpec, RenderedVideo, render_edit, write_edit
from imvideoedit.video.timing import FrameTiming, plan_frames
from imvideoedit.video.writer import WrittenVideo, write_video

__all__ = [
    "AudioInfo",
    "ClipSpec",
    "DecodedVideo",
    "FrameTiming",
    "Geometry",
    "OutputSpec",
    "PreparedClip",
    "RenderedVideo",
    "WrittenVideo",
    "load_clip",
    "match_colour",
    "plan_frames",
    "plan_geometry",
    "prepare_clip",
    "probe_video",
    "read_video",
    "render_edit",
    "write_edit",
    "write_video",
]
