"""TensorBoard event files, written by tensorboardX, and what numbarl puts in them beyond scalars:
a hyperparameter session whose metrics TensorBoard's HParams dashboard compares across runs,
episodes as animated GIFs, and histograms.

tensorboardX's writer module runs `try: import torch` at import time, only to accept torch
tensors (1.2-1.9 s where torch is installed), and its record writer imports boto3 and
google.cloud for s3:// and gs:// log directories (0.15 s where boto3 is installed). A process
that has not imported them itself gets tensorboardX without them: about 0.05 s, every feature
kept (its other uses of torch import it inside the functions that need it)."""

from __future__ import annotations

import io
import itertools
import os
import sys

_OPTIONAL = {"torch": None, "boto3": ("s3://",), "google.cloud": ("gs://",)}
_WRITERS = itertools.count()


def summary_writer(logdir: str, flush_secs: float = 10.0):
    """A tensorboardX SummaryWriter for `logdir`, importing tensorboardX as cheaply as it can."""
    if "tensorboardX" not in sys.modules:
        hidden = [name for name, schemes in _OPTIONAL.items()
                  if name not in sys.modules and not (schemes and str(logdir).startswith(schemes))]
        for name in hidden:
            sys.modules[name] = None  # `import name` raises ImportError while tensorboardX loads
        try:
            import tensorboardX  # noqa: F401
        finally:
            for name in hidden:
                if sys.modules.get(name, 0) is None:
                    del sys.modules[name]
    from tensorboardX import SummaryWriter

    # tensorboardX names a file by the second and the host only, and a second writer in the same
    # directory and second (a quick resume) would overwrite the first one's file.
    return SummaryWriter(logdir=str(logdir), flush_secs=flush_secs,
                         filename_suffix=f".{os.getpid()}.{next(_WRITERS)}")


class HParams:
    """A run's hyperparameters as an HParams session: the experiment (which hparams and metrics
    the dashboard shows as columns) and the session start are written when the run starts, the
    session end when it ends; the metrics are the run's own scalars with those tags, so whatever
    the run logs last under them is what the dashboard compares."""

    def __init__(self, writer, hparams: dict, metrics: list):
        from tensorboardX.summary import hparams as hparams_summaries

        plain = {k: v if isinstance(v, (bool, int, float, str)) or v is None else str(v) for k, v in hparams.items()}
        experiment, start, self._end = hparams_summaries(plain, {tag: 0.0 for tag in metrics})
        self.writer = writer
        writer.file_writer.add_summary(experiment)
        writer.file_writer.add_summary(start)

    def end(self):
        self.writer.file_writer.add_summary(self._end)


def gif(frames, fps: float = 30.0) -> bytes:
    """An animated GIF of `frames` (a sequence of (H, W, 3) uint8 images), encoded by Pillow."""
    from PIL import Image

    images = [Image.fromarray(frame) for frame in frames]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    return out.getvalue()


def add_gif(writer, tag: str, data: bytes, height: int, width: int, step: int):
    """An encoded GIF as an image summary: TensorBoard's Images dashboard plays it, as it plays
    tensorboardX's add_video (which would encode the same GIF through moviepy and imageio)."""
    from tensorboardX.proto.summary_pb2 import Summary

    image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=data)
    writer.file_writer.add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)
