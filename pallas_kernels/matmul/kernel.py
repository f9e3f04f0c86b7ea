"""What a matmul implementation can do, declared beside it: the model and platform read this."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp

from pallas_kernels.matmul.reference import matmul_reference


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
    """

    name: str
    fn: Callable[..., jax.Array]
    reads_stacked: bool
    weight_dtypes: tuple[jnp.dtype, ...] = ()
    activation_dtype: jnp.dtype | None = None
    product_dtype: jnp.dtype | None = None

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
