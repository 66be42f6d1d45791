"""algos/gae.py's scan as a CUDA kernel: one thread per sub-env, walking its steps backwards.

Imported only when a rollout lives on the GPU; the launch goes through numbarl/launch.py,
which checks its grid against the device's limits. cache=True: a process loads what an earlier
one compiled (numba keys it on this file's timestamp; the simulator ignores the flag).
"""

from __future__ import annotations

from numba import cuda

from numbarl.launch import grid_stride


@cuda.jit(cache=True)
def gae_kernel(rewards, values, dones, next_value, gamma, lam, adv, steps, envs):
    """adv = gae_numpy(...) over flat (steps x envs) arrays. The launcher caps the grid, so each
    thread strides over sub-envs: past the cap they would otherwise be left unwritten."""
    for e in range(cuda.grid(1), envs, cuda.gridsize(1)):
        last = rewards[0] * 0
        for t in range(steps - 1, -1, -1):
            following = next_value[e] if t == steps - 1 else values[(t + 1) * envs + e]
            keep = 1.0 - dones[t * envs + e]
            delta = rewards[t * envs + e] + gamma * following * keep - values[t * envs + e]
            last = delta + gamma * lam * keep * last
            adv[t * envs + e] = last


def gae_cuda(bk, rewards, values, dones, next_value, gamma, lam):
    """Advantages (T, N) of (T, N) device arrays and an (N,) next_value, on the CUDA backend `bk`."""
    steps, envs = rewards.shape
    adv = cuda.device_array(rewards.shape, rewards.dtype)
    dones = bk.astype(dones, rewards.dtype)
    grid_stride(gae_kernel, envs)(rewards.reshape(rewards.size), values.reshape(values.size),
                                  dones.reshape(dones.size), next_value.reshape(next_value.size), gamma, lam,
                                  adv.reshape(adv.size), steps, envs)
    return adv
