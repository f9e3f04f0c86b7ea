"""A browser-playable MP4 from raw YUV frames with no video encoder: H.264 Baseline whose
every macroblock is I_PCM (the samples stored as they are), muxed into a minimal ISO BMFF file.

Big (384 bytes per 16x16 block per frame) but valid: Chromium and ffmpeg decode it. Used by
make_webui_media.py for webui's sample videos. Frame planes: Y [H, W], Cb and Cr [H/2, W/2],
bytes in row order; W and H multiples of 16.
"""

from __future__ import annotations

import struct


class BitWriter:
    """Bits of an H.264 RBSP: fixed-width fields, Exp-Golomb codes, raw aligned bytes."""

    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, width: int, value: int) -> None:
        self.bits += [(value >> (width - 1 - i)) & 1 for i in range(width)]

    def ue(self, value: int) -> None:
        value += 1
        self.u(value.bit_length() - 1, 0)
        self.u(value.bit_length(), value)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align(self) -> None:
        self.bits += [0] * (-len(self.bits) % 8)

    def raw(self, data: bytes) -> None:
        for byte in data:
            self.u(8, byte)

    def rbsp(self) -> bytes:
        self.bits.append(1)  # rbsp_stop_one_bit, then zeros to the byte boundary
        self.align()
        return bytes(
            int("".join(map(str, self.bits[i : i + 8])), 2) for i in range(0, len(self.bits), 8)
        )


def nal_unit(kind: int, rbsp: bytes) -> bytes:
    """A NAL unit (nal_ref_idc 3) with emulation-prevention bytes inserted."""
    out, zeros = bytearray([0x60 | kind]), 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def sequence_parameter_set(width: int, height: int) -> bytes:
    bits = BitWriter()
    bits.u(8, 66)  # profile_idc: Baseline
    bits.u(8, 0xC0)  # constraint_set0/1
    bits.u(8, 10)  # level_idc 1.0
    for value in (0, 0, 2, 1):  # sps id, log2_max_frame_num - 4, poc type 2, max ref frames
        bits.ue(value)
    bits.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
    bits.ue(width // 16 - 1)
    bits.ue(height // 16 - 1)
    for flag in (1, 1, 0, 0):  # frame_mbs_only, direct_8x8_inference, cropping, vui
        bits.u(1, flag)
    return nal_unit(7, bits.rbsp())


def picture_parameter_set() -> bytes:
    bits = BitWriter()
    bits.ue(0)  # pps id
    bits.ue(0)  # sps id
    bits.u(2, 0)  # CAVLC, no bottom-field pic order
    for value in (0, 0, 0):  # slice groups - 1, ref idx l0 - 1, l1 - 1
        bits.ue(value)
    bits.u(3, 0)  # weighted_pred_flag, weighted_bipred_idc
    for value in (0, 0, 0):  # pic_init_qp - 26, pic_init_qs - 26, chroma_qp_index_offset
        bits.se(value)
    bits.u(3, 0b100)  # deblocking control present, no constrained intra, no redundant pic cnt
    return nal_unit(8, bits.rbsp())


def idr_slice(planes: tuple[bytes, bytes, bytes], width: int, height: int, idr_id: int) -> bytes:
    """One IDR picture of I_PCM macroblocks."""
    luma, cb, cr = planes
    bits = BitWriter()
    bits.ue(0)  # first_mb_in_slice
    bits.ue(7)  # slice_type: I (all slices)
    bits.ue(0)  # pps id
    bits.u(4, 0)  # frame_num
    bits.ue(idr_id)
    bits.u(2, 0)  # no_output_of_prior_pics, long_term_reference
    bits.se(0)  # slice_qp_delta
    bits.ue(1)  # disable_deblocking_filter_idc
    half = width // 2
    for row in range(height // 16):
        for col in range(width // 16):
            bits.ue(25)  # mb_type I_PCM
            bits.align()
            bits.raw(
                bytes(
                    luma[(row * 16 + r) * width + col * 16 + c]
                    for r in range(16)
                    for c in range(16)
                )
            )
            for plane in (cb, cr):
                bits.raw(
                    bytes(
                        plane[(row * 8 + r) * half + col * 8 + c]
                        for r in range(8)
                        for c in range(8)
                    )
                )
    return nal_unit(5, bits.rbsp())


def box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I", 8 + len(body)) + kind + body


def full_box(kind: bytes, flags: int, *parts: bytes) -> bytes:
    return box(kind, struct.pack(">I", flags), *parts)  # version 0


MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def sample_table(entry: bytes, sizes: list[int], offset: int) -> bytes:
    count = len(sizes)
    return box(
        b"stbl",
        full_box(b"stsd", 0, struct.pack(">I", 1), entry),
        full_box(b"stts", 0, struct.pack(">III", 1, count, 100)),
        full_box(b"stsc", 0, struct.pack(">IIII", 1, 1, count, 1)),
        full_box(b"stsz", 0, struct.pack(">II", 0, count), *(struct.pack(">I", s) for s in sizes)),
        full_box(b"stco", 0, struct.pack(">II", 1, offset)),
    )


def movie_box(
    entry: bytes, sizes: list[int], offset: int, fps: int, size: tuple[int, int]
) -> bytes:
    timescale, duration = fps * 100, len(sizes) * 100
    millis = duration * 1000 // timescale
    media_info = box(
        b"minf",
        full_box(b"vmhd", 1, b"\0" * 8),
        box(b"dinf", full_box(b"dref", 0, struct.pack(">I", 1), full_box(b"url ", 1))),
        sample_table(entry, sizes, offset),
    )
    media = box(
        b"mdia",
        full_box(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, timescale, duration, 0x55C4, 0)),
        full_box(b"hdlr", 0, b"\0" * 4, b"vide", b"\0" * 12, b"webui\0"),
        media_info,
    )
    track_header = full_box(
        b"tkhd", 3, struct.pack(">IIIII", 0, 0, 1, 0, millis), b"\0" * 16, MATRIX,
        struct.pack(">II", size[0] << 16, size[1] << 16),
    )  # fmt: skip
    movie_header = full_box(
        b"mvhd", 0, struct.pack(">IIIIIH", 0, 0, 1000, millis, 0x10000, 0x100), b"\0" * 10,
        MATRIX, b"\0" * 24, struct.pack(">I", 2),
    )  # fmt: skip
    return box(b"moov", movie_header, box(b"trak", track_header, media))


def pcm_mp4(frames: list[tuple[bytes, bytes, bytes]], width: int, height: int, fps: int) -> bytes:
    """The MP4 file of `frames` (Y, Cb, Cr planes) at `fps` frames a second."""
    if width % 16 or height % 16:
        raise ValueError(f"width and height must be multiples of 16, got {width}x{height}")
    sps, pps = sequence_parameter_set(width, height), picture_parameter_set()
    nals = [idr_slice(planes, width, height, i % 2) for i, planes in enumerate(frames)]
    samples = [struct.pack(">I", len(n)) + n for n in nals]
    avcc = box(
        b"avcC", bytes([1, 66, 0xC0, 10, 0xFF, 0xE1]), struct.pack(">H", len(sps)), sps,
        b"\x01", struct.pack(">H", len(pps)), pps,
    )  # fmt: skip
    entry = box(
        b"avc1", b"\0" * 6, struct.pack(">H", 1), b"\0" * 16,
        struct.pack(">HHIIIH", width, height, 0x480000, 0x480000, 0, 1), b"\0" * 32,
        struct.pack(">Hh", 0x18, -1), avcc,
    )  # fmt: skip
    file_type = box(b"ftyp", b"isom", struct.pack(">I", 512), b"isomiso2avc1mp41")
    sizes = [len(s) for s in samples]
    offset = len(file_type) + len(movie_box(entry, sizes, 0, fps, (width, height))) + 8
    movie = movie_box(entry, sizes, offset, fps, (width, height))
    return file_type + movie + box(b"mdat", *samples)
