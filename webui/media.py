"""Sample media for demos: `gr.media.get_image("bus.png")` and friends, as Gradio's gradio.media.

Gradio ships photos, sounds, videos and models under these names; webui ships small stand-ins of
its own under the same names (drawn by scripts/make_webui_media.py; the MP4s hold uncompressed
H.264 that browsers play, the MP3s are silence). The one name webui has no stand-in for (b.avi)
raises FileNotFoundError naming it. URLs are returned as given, as Gradio does.
"""

from __future__ import annotations

from pathlib import Path

MEDIA_ROOT = Path(__file__).resolve().parent / "media_assets"
# The sample folders, as Gradio's (demos pass them to launch(allowed_paths=...)).
MEDIA_PATHS = [MEDIA_ROOT / kind for kind in ("images", "videos", "audio", "models3d", "data")]
# What Gradio ships under these names that webui cannot generate without an AVI encoder.
_NOT_SHIPPED = {"videos": ("b.avi",)}


def _media_path(kind: str, filename: str | None) -> str:
    if filename is not None and filename.startswith(("http://", "https://")):
        return filename
    folder = MEDIA_ROOT / kind
    shipped = sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    if filename is None:
        if not shipped:
            raise FileNotFoundError(f"webui ships no sample {kind}; pass a path or URL of your own")
        return str(folder / shipped[0])  # Gradio picks at random; the first keeps runs alike
    if filename in _NOT_SHIPPED.get(kind, ()):
        raise FileNotFoundError(
            f"the sample {kind} file {filename!r} is Gradio's and webui has no stand-in for it "
            "(no encoder for it without ffmpeg); use a file of your own"
        )
    if Path(filename).name != filename or filename not in shipped:
        raise FileNotFoundError(f"webui has no sample {kind} file {filename!r}; it has {shipped}")
    return str(folder / filename)


def get_image(filename: str | None = None) -> str:
    """The path of a sample image (the first one when `filename` is None)."""
    return _media_path("images", filename)


def get_video(filename: str | None = None) -> str:
    """The path of a sample MP4 video (48x32, 2 s, no sound)."""
    return _media_path("videos", filename)


def get_audio(filename: str | None = None) -> str:
    """The path of a sample sound: WAV tones, or MP3s of silence."""
    return _media_path("audio", filename)


def get_model3d(filename: str | None = None) -> str:
    """The path of a sample 3D model (.obj, .stl, .gltf, .glb: one tetrahedron)."""
    return _media_path("models3d", filename)


def get_file(filename: str | None = None) -> str:
    """The path of a sample data file (CSV, JSON, text, subtitles)."""
    return _media_path("data", filename)
