"""Writes webui's own sample media (webui/media_assets/) for `gr.media.get_image()` and friends.

Gradio ships photos, recordings and videos under these names; webui cannot copy them, so this
script draws stand-ins under the same names with Pillow and the standard library (images, WAV
sounds, 3D models, CSV/JSON/subtitle files, and MP4 videos of uncompressed H.264 from
pcm_mp4.py), MP3s of silence (frames with no audio data need no encoder). AVI is not written,
and `webui.media` names it as missing. Run: python scripts/make_webui_media.py
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import random
import struct
import wave
from pathlib import Path

from pcm_mp4 import pcm_mp4  # this folder is on sys.path when the script runs
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent / "webui" / "media_assets"
# name -> (background, shape colour) of a 96x64 stand-in picture
IMAGES = {
    "avatar.png": ((240, 200, 160), (90, 60, 40)),
    "bus.png": ((120, 170, 230), (230, 180, 30)),
    "cheetah.jpg": ((200, 170, 90), (60, 40, 20)),
    "cheetah1.jpg": ((210, 180, 100), (50, 35, 15)),
    "groot.jpeg": ((60, 110, 50), (120, 80, 40)),
    "hf-logo_transpng.png": ((0, 0, 0, 0), (255, 210, 30, 255)),
    "lion.jpg": ((220, 190, 120), (150, 90, 30)),
    "logo.png": ((255, 255, 255), (249, 115, 22)),
    "tower.jpg": ((160, 200, 240), (90, 90, 100)),
}
# name -> (frequency in Hz, seconds) of an 8 kHz mono tone
SOUNDS = {
    "audio_sample.wav": (440.0, 1.0),
    "cantina.wav": (523.25, 1.5),
    "recording1.wav": (330.0, 1.0),
    "sax.wav": (293.66, 1.5),
}


def draw(background: tuple[int, ...], colour: tuple[int, ...]) -> Image.Image:
    image = Image.new("RGBA" if len(background) == 4 else "RGB", (96, 64), background)
    pen = ImageDraw.Draw(image)
    pen.ellipse((24, 8, 72, 56), fill=colour)
    pen.rectangle((4, 50, 92, 60), outline=colour)
    return image


def write_images(folder: Path) -> None:
    for name, (background, colour) in IMAGES.items():
        image = draw(background, colour)
        image.save(folder / name, format="JPEG" if name.endswith((".jpg", ".jpeg")) else "PNG")
    frames = [draw((255, 255, 255), (40 * i, 80, 200 - 40 * i)) for i in range(4)]
    frames[0].save(folder / "screenshot.gif", save_all=True, append_images=frames[1:], duration=200)


def write_sounds(folder: Path) -> None:
    rate = 8_000
    for name, (frequency, seconds) in SOUNDS.items():
        samples = [
            int(12_000 * math.sin(2 * math.pi * frequency * t / rate))
            for t in range(int(rate * seconds))
        ]
        with wave.open(str(folder / name), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(struct.pack(f"<{len(samples)}h", *samples))


# name -> colour of a ball crossing a 48x32 frame, 12 frames at 6 fps
VIDEOS = {
    "a.mp4": (230, 80, 60),
    "b.mp4": (60, 160, 230),
    "muted_b.mp4": (60, 160, 230),
    "world.mp4": (60, 200, 90),
}


def yuv_planes(image: Image.Image) -> tuple[bytes, bytes, bytes]:
    """Y at full size, Cb and Cr at half size (4:2:0), as pcm_mp4 takes them."""
    y, cb, cr = image.convert("YCbCr").split()
    half = (image.width // 2, image.height // 2)
    return y.tobytes(), cb.resize(half).tobytes(), cr.resize(half).tobytes()


def write_videos(folder: Path) -> None:
    for name, colour in VIDEOS.items():
        frames = []
        for i in range(12):
            frame = Image.new("RGB", (48, 32), (20, 20, 40))
            ImageDraw.Draw(frame).ellipse((i * 3, 8, i * 3 + 16, 24), fill=colour)
            frames.append(yuv_planes(frame))
        (folder / name).write_bytes(pcm_mp4(frames, 48, 32, fps=6))


SILENT_MP3S = ("cate_blanch.mp3", "cate_blanch_2.mp3", "heath_ledger.mp3")
# MPEG-1 Layer III, 32 kbit/s, 32 kHz, mono, no CRC: 144-byte frames of 1152 samples (36 ms)
MP3_HEADER = bytes([0xFF, 0xFB, 0x18, 0xC0])


def write_silent_mp3s(folder: Path) -> None:
    """Two seconds of silence: all-zero side info means no audio data, which decodes as 0."""
    frame = MP3_HEADER + bytes(144 - len(MP3_HEADER))
    for name in SILENT_MP3S:
        (folder / name).write_bytes(frame * 56)


# A tetrahedron: 4 vertices, 4 faces; every model file below holds it.
VERTICES = [(0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)]
FACES = [(0, 2, 1), (0, 1, 3), (0, 3, 2), (1, 2, 3)]


def gltf_parts() -> tuple[dict, bytes]:
    """A glTF 2.0 document of the tetrahedron and its binary buffer (positions, indices)."""
    positions = b"".join(struct.pack("<3f", *v) for v in VERTICES)
    indices = b"".join(struct.pack("<3H", *f) for f in FACES)
    buffer = positions + indices
    document = {
        "asset": {"version": "2.0", "generator": "webui scripts/make_webui_media.py"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
        "buffers": [{"byteLength": len(buffer)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(positions), "target": 34962},
            {
                "buffer": 0,
                "byteOffset": len(positions),
                "byteLength": len(indices),
                "target": 34963,
            },
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": 4,
                "type": "VEC3",
                "min": [0, 0, 0],
                "max": [1, 1, 1],
            },
            {"bufferView": 1, "componentType": 5123, "count": 12, "type": "SCALAR"},
        ],
    }
    return document, buffer


def write_models(folder: Path) -> None:
    obj = "".join(f"v {x} {y} {z}\n" for x, y, z in VERTICES)
    obj += "".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in FACES)
    for name in ("Bunny.obj", "face.obj"):
        (folder / name).write_text(f"# webui sample model\n{obj}")
    facets = "".join(
        "facet normal 0 0 0\n outer loop\n"
        + "".join(f"  vertex {' '.join(map(str, VERTICES[i]))}\n" for i in face)
        + " endloop\nendfacet\n"
        for face in FACES
    )
    (folder / "sofia.stl").write_text(f"solid webui\n{facets}endsolid webui\n")
    document, buffer = gltf_parts()
    embedded = {
        **document,
        "buffers": [
            {
                "byteLength": len(buffer),
                "uri": "data:application/octet-stream;base64," + base64.b64encode(buffer).decode(),
            }
        ],
    }
    (folder / "Fox.gltf").write_text(json.dumps(embedded, indent=1))
    chunk = json.dumps(document).encode()
    chunk += b" " * (-len(chunk) % 4)
    binary = buffer + b"\0" * (-len(buffer) % 4)
    body = struct.pack("<II", len(chunk), 0x4E4F534A) + chunk
    body += struct.pack("<II", len(binary), 0x004E4942) + binary
    (folder / "Duck.glb").write_bytes(struct.pack("<III", 0x46546C67, 2, 12 + len(body)) + body)


def write_data(folder: Path) -> None:
    rows = random.Random(0)
    out = io.StringIO()
    table = csv.writer(out, lineterminator="\n")
    table.writerow(
        [
            "PassengerId",
            "Survived",
            "Pclass",
            "Name",
            "Sex",
            "Age",
            "SibSp",
            "Parch",
            "Ticket",
            "Fare",
            "Cabin",
            "Embarked",
        ]
    )
    for i in range(1, 41):
        sex = rows.choice(["male", "female"])
        table.writerow(
            [
                i,
                rows.randint(0, 1),
                rows.randint(1, 3),
                f"Passenger {i}",
                sex,
                rows.randint(1, 70),
                rows.randint(0, 2),
                rows.randint(0, 2),
                f"T{1000 + i}",
                round(rows.uniform(5, 100), 2),
                "",
                rows.choice("SCQ"),
            ]
        )
    (folder / "titanic.csv").write_text(out.getvalue())
    times = "".join(f"{t},{t * 2 + 1},{t * 3 + 1}\n" for t in range(1, 21))
    (folder / "time.csv").write_text("time,value,price\n" + times)
    (folder / "sample.txt").write_text("hello friends\nthis is a webui sample text file\n")
    labels = ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead shark"]
    (folder / "imagenet_labels.json").write_text(json.dumps(labels, indent=1))
    cues = [("A", 0.0), ("B", 0.5), ("C", 1.0)]
    (folder / "s3.json").write_text(
        json.dumps(
            [{"text": text, "timestamp": [start, start + 0.5]} for text, start in cues], indent=1
        )
    )
    srt = "".join(
        f"{i}\n0:00:0{start:.3f} --> 0:00:0{start + 0.5:.3f}\n{text}\n\n"
        for i, (text, start) in enumerate(cues, 1)
    )
    (folder / "s1.srt").write_text(srt)
    vtt = "".join(
        f"00:00:0{start:.3f} --> 00:00:0{start + 0.5:.3f}\n{text}\n\n" for text, start in cues
    )
    (folder / "s2.vtt").write_text("WEBVTT\n\n" + vtt)


def main() -> None:
    for kind, write in (
        ("images", write_images),
        ("audio", write_sounds),
        ("audio", write_silent_mp3s),
        ("models3d", write_models),
        ("videos", write_videos),
        ("data", write_data),
    ):
        folder = ROOT / kind
        folder.mkdir(parents=True, exist_ok=True)
        write(folder)
    print(f"wrote {sum(1 for p in ROOT.rglob('*') if p.is_file())} files under {ROOT}")


if __name__ == "__main__":
    main()
