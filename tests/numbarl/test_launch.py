"""numbarl/launch.py: every CUDA launch in autodiff, algos and envs goes through
`launch.configure`, the one place that checks a grid against the device's limits (what it refuses:
tests/cuda/numbarl/test_launch.py; the strided kernels under a lowered limit:
tests/cuda/autodiff/test_cuda_launch.py, tests/cuda/algos/test_gae.py and tests/cuda/envs)."""

import ast
import os

from numbarl import launch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _direct_launches(path):
    """`kernel[grid, block]` expressions: a subscript by a 2- or 3-tuple of something that is
    called or named like a kernel (dict lookups such as K.MATMUL["float32"] take one key)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple) and len(node.slice.elts) in (2, 3):
            if id(node) in called or "kernel" in ast.unparse(node.value).lower():
                found.append(f"{os.path.relpath(path, ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return sorted(found, key=lambda hit: int(hit.split(":")[1]))


def test_no_kernel_is_launched_around_the_launcher():
    files = [os.path.join(folder, f) for package in ("autodiff", "algos", "envs")
             for folder, _, names in os.walk(os.path.join(ROOT, package)) for f in names if f.endswith(".py")]
    files = [f for f in files if os.path.abspath(f) != os.path.abspath(launch.__file__)]
    assert len(files) > 40
    direct = [hit for f in files for hit in _direct_launches(f)]
    assert not direct, "launch these through numbarl.launch.configure:\n" + "\n".join(direct)


def test_the_scan_finds_a_direct_launch(tmp_path):
    path = tmp_path / "k.py"
    path.write_text("K.fill_kernel[4, 256](out, 0)\nstep = kernels.step_kernel[blocks, THREADS]\nx = a[1, 2]\n")
    assert [hit.split(": ", 1)[1] for hit in _direct_launches(str(path))] == [
        "K.fill_kernel[4, 256]", "kernels.step_kernel[blocks, THREADS]"]
