"""What a matmul implementation can do, declared beside it: the model and platform read this."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from pallas_kernels.matmul.reference import matmul_reference


@functools.partial(jax.tree_util.register_dataclass, data_fields=["data"], meta_fields=["k", "n"])
@dataclasses.dataclass(frozen=True)
class PackedMatrix:
    """A weight matrix `w[..., K, N]` in the layout its kernel reads (`WeightLayout.pack`).

    A pytree: `data` (the packed array, leading axes such as layers kept) is its leaf, and the
    logical K and N (which padding may hide in `data.shape`) ride along as static metadata.
    """

    data: jax.Array
    k: int
    n: int

    @property
    def shape(self) -> tuple[int, ...]:
        """The logical shape, `[..., K, N]`."""
        return (*self.data.shape[: self.data.ndim - WeightLayout.PACKED_RANK], self.k, self.n)

    @property
    def dtype(self) -> jnp.dtype:
        return self.data.dtype

    @property
    def nbytes(self) -> int:
        """Bytes stored, padding included."""
        return self.data.nbytes


@functools.partial(jax.tree_util.register_dataclass, data_fields=["q", "scale"], meta_fields=[])
@dataclasses.dataclass(frozen=True)
class QuantizedMatrix:
    """A weight matrix `w[..., K, N]` as int8 or float8_e4m3fn `q[..., K, N]` times
    `scale f32[..., N]`, one scale per output column (weight-only: the activations stay in
    the compute dtype, and either code widens exactly into bfloat16)."""

    q: jax.Array
    scale: jax.Array

    @property
    def shape(self) -> tuple[int, ...]:
        return self.q.shape

    @property
    def dtype(self) -> jnp.dtype:
        return self.q.dtype

    @property
    def nbytes(self) -> int:
        return self.q.nbytes + self.scale.nbytes


def quantize_int8(w: jax.Array) -> QuantizedMatrix:
    """`w[..., K, N]` rounded to int8 per output column: scale = max |w[:, n]| / 127."""
    wf = w.astype(jnp.float32)
    scale = jnp.max(jnp.abs(wf), axis=-2) / 127.0  # [..., N]
    scale = jnp.where(scale > 0, scale, 1.0)
    q = jnp.clip(jnp.round(wf / scale[..., None, :]), -127, 127).astype(jnp.int8)
    return QuantizedMatrix(q, scale)


FP8_MAX = 448.0  # the largest float8_e4m3fn


def quantize_fp8(w: jax.Array) -> QuantizedMatrix:
    """`w[..., K, N]` as float8_e4m3fn per output column: scale = max |w[:, n]| / 448, so each
    column's largest weight lands on the top code and the rest keep 3 mantissa bits."""
    wf = w.astype(jnp.float32)
    scale = jnp.max(jnp.abs(wf), axis=-2) / FP8_MAX  # [..., N]
    scale = jnp.where(scale > 0, scale, 1.0)
    q = jnp.clip(wf / scale[..., None, :], -FP8_MAX, FP8_MAX).astype(jnp.float8_e4m3fn)
    return QuantizedMatrix(q, scale)


@dataclasses.dataclass(frozen=True, eq=False)
class WeightLayout:
    """How a kernel wants its weight matrices laid out in memory, done once at load.

    Attributes:
        name: a short name for logs.
        pack: `w[..., K, N]` -> the packed array (its last `PACKED_RANK` axes the matrix's).
        columns: `(packed[..., *matrix axes], ids i32[R])` -> `w[..., :, ids]` transposed, as
            `[..., R, K]`: reading a tied embedding's rows back from its packed LM head.
    """

    PACKED_RANK = 4  # [N/32, K/2, 32, 2] and the like: every packing has four matrix axes

    name: str
    pack: Callable[[jax.Array], jax.Array]
    columns: Callable[[jax.Array, jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True, eq=False)
class MatmulKernel:
    """A matmul `fn(x, w, layer=None, *, transposed=False)` and its capabilities.

    Attributes:
        name: what `jaxserve doctor` and the logs call it ("xla", "cpu_native", ...).
        fn: the function; see `matmul_reference` for the contract.
        reads_stacked: takes all layers' weights `w[L, in, out]` and a layer index and reads
            them in place; otherwise the layer loop hands it each layer's slice.
        weight_dtypes: the dtypes it takes weight matrices in as stored; empty: the
            activations' dtype (weights are converted to it when loaded).
        activation_dtype: the dtype of x it takes; None: any (the model's compute dtype).
        product_dtype: the dtype its products are formed in (bfloat16: x is rounded to
            bfloat16 and pairs of bfloat16 products summed in float32); None: x's dtype.
        layout: the layout it reads weight matrices in, made at load by `pack`; None: as
            loaded (`w[..., K, N]`, or `w[N, K]` with `transposed`). A kernel with a layout
            takes `PackedMatrix` weights only, whose orientation was fixed when packed.
        pack_quantized: how it lays out a `QuantizedMatrix` (int8 weights); None: it reads
            them as they are (XLA's), or takes none.
    """

    name: str
    fn: Callable[..., jax.Array]
    reads_stacked: bool
    weight_dtypes: tuple[jnp.dtype, ...] = ()
    activation_dtype: jnp.dtype | None = None
    product_dtype: jnp.dtype | None = None
    layout: WeightLayout | None = None
    pack_quantized: Callable[[QuantizedMatrix], object] | None = None

    def pack(self, w: jax.Array, *, transposed: bool = False) -> jax.Array | PackedMatrix:
        """`w[..., K, N]` (`w[..., N, K]` if `transposed`) as this kernel reads it."""
        if isinstance(w, QuantizedMatrix):
            return w if self.pack_quantized is None else self.pack_quantized(w)
        if transposed:
            w = jnp.swapaxes(w, -1, -2)
        if self.layout is None:
            return w
        if w.ndim < 2:
            raise ValueError(f"a weight matrix needs at least 2 axes, got shape {w.shape}")
        return PackedMatrix(self.layout.pack(w), k=w.shape[-2], n=w.shape[-1])

    def columns(self, w: jax.Array | PackedMatrix, ids: jax.Array) -> jax.Array:
        """`w[:, ids]` transposed, `[R, K]`, of an unstacked `w[K, N]` as `pack` left it."""
        if isinstance(w, PackedMatrix):
            return self.layout.columns(w.data, ids)[..., : w.k]
        return jnp.swapaxes(w, -1, -2)[ids]

    def __call__(
        self,
        x: jax.Array,
        w: jax.Array,
        layer: jax.Array | int | None = None,
        *,
        transposed: bool = False,
    ) -> jax.Array:
        return self.fn(x, w, layer, transposed=transposed)

    def __repr__(self) -> str:  # stable across processes: it keys cached executables
        return f"MatmulKernel({self.name}, {self.fn.__module__}.{self.fn.__qualname__})"


XLA_MATMUL = MatmulKernel(name="xla", fn=matmul_reference, reads_stacked=False)
