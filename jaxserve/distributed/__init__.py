"""One model served by several processes: `jax.distributed` for the mesh, a leader that serves
HTTP and schedules, followers that run its steps (`leader`, `follower`, `channel`)."""
