"""The native CPU KV write: rows land where XLA's scatter puts them, rounded as XLA rounds,
in place (no copy of the pool, also inside a layer loop), and bad shapes are named."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pallas_kernels.ragged_paged_attention import write_kv_pages
from platforms.attention import import_kernel

pytestmark = pytest.mark.cpu  # an XLA FFI target for the CPU only

module, reason, _ = import_kernel("pallas_kernels.ragged_paged_attention.kv_write_cpu")
if module is None:
    pytest.skip(f"the native KV write is unavailable: {reason}", allow_module_level=True)
write_rows_cpu = module.write_rows_cpu


@pytest.mark.parametrize("new_dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize("pages_dtype", [jnp.float32, jnp.bfloat16])
def test_matches_xla_scatter(pages_dtype, new_dtype):
    if pages_dtype == jnp.float32 and new_dtype == jnp.bfloat16:
        pytest.skip("new rows are float32 or the pages' dtype")
    rng = np.random.default_rng(0)
    pages = jnp.asarray(rng.standard_normal((3, 5, 4, 2, 8)), pages_dtype)  # [L, P, ps, K, D]
    new = jnp.asarray(rng.standard_normal((6, 2, 8)) * 1e3, new_dtype)  # ties and big values
    new = new.at[0, 0, 0].set(jnp.nan).at[0, 0, 1].set(jnp.inf)
    slots = jnp.asarray([0, 7, 59, 3, 60 * 3 - 1, 17], jnp.int32)
    want = pages.reshape(-1, 2, 8).at[slots].set(new.astype(pages_dtype)).reshape(pages.shape)
    got = jax.jit(write_rows_cpu)(pages, new, slots)
    np.testing.assert_array_equal(np.asarray(got, np.float32), np.asarray(want, np.float32))


@pytest.mark.parametrize("code_dtype", [jnp.int8, jnp.float8_e4m3fn], ids=["int8", "fp8"])
def test_code_pools_take_rows_as_xla_scatters_them(code_dtype):
    """A quantized cache's pool: its codes copied (every byte value, NaN codes too), and
    write_kv_pages sends it to the native writer on CPU, as XLA's scatter widens it."""
    all_codes = np.arange(256, dtype=np.uint8).view(jnp.dtype(code_dtype))
    pages = jnp.asarray(np.roll(all_codes, 7).reshape(2, 4, 4, 2, 4))  # [L, P, ps, K, D]
    new = jnp.asarray(all_codes[:64].reshape(8, 2, 4))  # [T, K, D]
    slots = jnp.asarray([0, 31, 5, 40, 32, 17, 63, 2], jnp.int32)  # 3 past the pool
    want = pages.reshape(-1, 2, 4).at[slots].set(new, mode="drop").reshape(pages.shape)
    got = jax.jit(write_rows_cpu)(pages, new, slots)
    np.testing.assert_array_equal(np.asarray(got).view(np.uint8), np.asarray(want).view(np.uint8))
    fn = jax.jit(lambda p, n, s: write_kv_pages(p, p, n, n, s)[0])
    assert "jaxserve_write_kv_pages_cpu" in fn.lower(pages, new, slots).compile().as_text()
    got = fn(pages, new, slots)
    np.testing.assert_array_equal(np.asarray(got).view(np.uint8), np.asarray(want).view(np.uint8))


def test_out_of_range_slots_are_skipped_like_xla():
    pages = jnp.zeros((2, 4, 1, 4), jnp.bfloat16)
    new = jnp.ones((3, 1, 4), jnp.float32)
    got = write_rows_cpu(pages, new, jnp.asarray([-1, 8, 2], jnp.int32))
    want = pages.reshape(8, 1, 4).at[2].set(1).reshape(pages.shape)
    np.testing.assert_array_equal(np.asarray(got, np.float32), np.asarray(want, np.float32))


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float32])
@pytest.mark.parametrize("num_tokens", [5, 1])
def test_writes_in_place_inside_a_layer_loop(dtype, num_tokens):
    """The layer loop carries the pool straight into the kernel and reads it after the write,
    as attention does: XLA must not copy it. (One float32 token through XLA's scatter became
    a dynamic-update-slice whose two readers each got a copy of the pool, every layer.)"""
    layers, num_pages = 4, 32

    def step(k_all, v_all, k, v, slots):
        def layer(carry, i):
            k_all, v_all, total = carry
            layer_slots = slots + i * num_pages * 16
            k_all, v_all = write_kv_pages(k_all, v_all, k, v, layer_slots)
            read = k_all.reshape(-1, *k_all.shape[-2:])[layer_slots].astype(jnp.float32)
            return (k_all, v_all, total + read.sum()), None

        (k_all, v_all, total), _ = jax.lax.scan(
            layer, (k_all, v_all, jnp.float32(0)), jnp.arange(layers)
        )
        return k_all, v_all, total

    pool = jnp.zeros((layers, num_pages, 16, 2, 64), dtype)
    new = jnp.ones((num_tokens, 2, 64), jnp.float32)
    slots = jnp.arange(num_tokens, dtype=jnp.int32)
    hlo = jax.jit(step, donate_argnums=(0, 1)).lower(pool, pool, new, new, slots).compile()
    assert "jaxserve_write_kv_pages_cpu" in hlo.as_text()
    pool_shapes = ("[4,32,16,2,64]", "[2048,2,64]", "[32768,2,64]")  # the pool, a layer's, flat
    copies = [
        line
        for line in hlo.as_text().splitlines()
        if " copy(" in line and any(shape in line for shape in pool_shapes)
    ]
    assert copies == []
    k_all, _, total = jax.jit(step, donate_argnums=(0, 1))(
        pool, jnp.zeros_like(pool), new, new, slots
    )
    assert float(k_all[3, 0, :num_tokens].astype(jnp.float32).sum()) == num_tokens * 2 * 64
    assert float(total) == layers * num_tokens * 2 * 64


def test_bad_shapes_are_named():
    pages = jnp.zeros((2, 4, 1, 4), jnp.bfloat16)
    with pytest.raises(ValueError, match="bfloat16, int8, float8_e4m3fn, got float16"):
        write_rows_cpu(pages.astype(jnp.float16), jnp.ones((1, 1, 4)), jnp.zeros(1, jnp.int32))
    with pytest.raises(ValueError, match="new rows must be int8, got float32"):
        write_rows_cpu(pages.astype(jnp.int8), jnp.ones((1, 1, 4)), jnp.zeros(1, jnp.int32))
    with pytest.raises(ValueError, match="expected pages"):
        write_rows_cpu(pages, jnp.ones((1, 1, 5)), jnp.zeros(1, jnp.int32))
    with pytest.raises(ValueError, match="slot_mapping must be"):
        write_rows_cpu(pages, jnp.ones((2, 1, 4)), jnp.zeros(3, jnp.int32))
