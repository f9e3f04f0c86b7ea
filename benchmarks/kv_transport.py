#!/usr/bin/env python3
"""KV pages between two processes: JAX's transfer server against Ray's object store.

usage: kv_transport.py [--sizes-mb 1 12 47] [--repeats 5]

What is timed is one hand-off's pages going from the prefill process's cache to the decode
process's cache, each way's whole path:
- jax transfer: the sender's device array is offered with `await_pull`; the receiver `pull`s
  it straight into a device array (no host copies in our code; on CPU both are host memory).
- ray: the sender copies the device array to numpy and returns it from an actor method (Ray
  puts it in the shared-memory object store), the receiving actor gets it as an argument
  (zero-copy read of the store) and `device_put`s it.
Sizes: the pages of a 1,024-token prompt of SmolLM2-135M (30 layers, 3 KV heads of 64) are
47 MB in float32, 24 MB in bfloat16, 12 MB in int8. Prints the CPU model and RESULT lines
with the median latency and rate per size.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import statistics
import time

import numpy as np


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _jax_sender(sizes, repeats, addresses, done):
    import jax
    from jax.experimental import transfer

    device = jax.devices()[0]
    server = transfer.start_transfer_server(device.client, "127.0.0.1:0", ["127.0.0.1:0"])
    arrays = [jax.device_put(np.ones(n // 4, np.float32), device) for n in sizes]
    for i, x in enumerate(arrays):
        for r in range(repeats + 1):
            server.await_pull(i * 1000 + r, x)
    addresses.put(server.address())
    done.get()


def bench_jax_transfer(sizes: list[int], repeats: int) -> dict[int, list[float]]:
    import jax
    from jax.experimental import transfer

    ctx = mp.get_context("spawn")
    addresses, done = ctx.Queue(), ctx.Queue()
    sender = ctx.Process(target=_jax_sender, args=(sizes, repeats, addresses, done))
    sender.start()
    try:
        device = jax.devices()[0]
        server = transfer.start_transfer_server(device.client, "127.0.0.1:0", ["127.0.0.1:0"])
        connection = server.connect(addresses.get(timeout=120))
        sharding = jax.sharding.SingleDeviceSharding(device)
        times: dict[int, list[float]] = {}
        for i, n in enumerate(sizes):
            spec = jax.ShapeDtypeStruct((n // 4,), np.float32, sharding=sharding)
            times[n] = []
            for r in range(repeats + 1):  # the first pull of each size is a warm-up
                start = time.perf_counter()
                connection.pull(i * 1000 + r, spec).block_until_ready()
                if r:
                    times[n].append(time.perf_counter() - start)
        return times
    finally:
        done.put(None)
        sender.join(timeout=30)


def bench_ray(sizes: list[int], repeats: int) -> dict[int, list[float]]:
    import ray

    @ray.remote(num_cpus=0)
    class Sender:
        def __init__(self, sizes):
            import jax

            self.arrays = {n: jax.device_put(np.ones(n // 4, np.float32)) for n in sizes}

        def pages(self, n: int) -> tuple[float, np.ndarray]:
            return time.time(), np.asarray(self.arrays[n])  # device -> host, then the store

    @ray.remote(num_cpus=0)
    class Receiver:
        def take(self, sent: tuple[float, np.ndarray]) -> float:
            import jax

            jax.device_put(sent[1]).block_until_ready()
            return time.time() - sent[0]

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        sender, receiver = Sender.remote(sizes), Receiver.remote()
        times: dict[int, list[float]] = {}
        for n in sizes:
            times[n] = []
            for r in range(repeats + 1):
                elapsed = ray.get(receiver.take.remote(sender.pages.remote(n)))
                if r:
                    times[n].append(elapsed)
        return times
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=float, nargs="+", default=[1, 12, 47])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(mb * 2**20) // 4 * 4 for mb in args.sizes_mb]
    print(f"CPU: {cpu_model()}")
    for name, bench in (("jax.experimental.transfer", bench_jax_transfer), ("ray", bench_ray)):
        for n, times in bench(sizes, args.repeats).items():
            median = statistics.median(times)
            print(
                f"RESULT {name}: {n / 2**20:.0f} MiB median {median * 1e3:.1f} ms "
                f"(min {min(times) * 1e3:.1f}), {n / median / 1e6:.0f} MB/s"
            )


if __name__ == "__main__":
    main()
