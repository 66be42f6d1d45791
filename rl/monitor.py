"""What a user watches during training: TensorBoard scalars and the console progress line."""

from __future__ import annotations

import collections
import math
import sys
import time

from .tensorboard import SummaryWriter


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


class Monitor:
    """The `log(tag, value, step)` callback algorithms call: every scalar goes to TensorBoard;
    the console shows steps, SPS, the recent mean episodic return and elapsed / remaining time,
    as a live bar on a terminal and as a plain line every `every_secs` otherwise."""

    def __init__(self, logdir, total_steps, start_step=0, stream=None, every_secs=5.0):
        self.writer = SummaryWriter(logdir)
        self.total, self.step, self.start_step = total_steps, start_step, start_step
        self.stream = stream or sys.stdout
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.returns = collections.deque(maxlen=100)
        self.every_secs, self.started, self.last_print = every_secs, time.perf_counter(), 0.0

    def __call__(self, tag, value, step):
        self.writer.add_scalar(tag, value, step)
        if tag == "charts/episodic_return":
            self.returns.append(float(value))
        if step != self.step:
            self.step = step
            self.show()

    def mean_return(self) -> float:
        return sum(self.returns) / len(self.returns) if self.returns else float("nan")

    def show(self, final=False):
        now = time.perf_counter()
        if not final and now - self.last_print < (0.1 if self.live else self.every_secs):
            return
        self.last_print = now
        elapsed = now - self.started
        done = self.step - self.start_step
        sps = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.step) / sps if sps > 0 else float("nan")
        frac = min(1.0, self.step / self.total) if self.total else 1.0
        line = (f"{self.step:>{len(f'{self.total:,}')},}/{self.total:,} steps | {sps:,.0f} SPS | "
                f"return {self.mean_return():.1f} | {_duration(elapsed)} < {_duration(eta)}")
        if self.live:
            width = 20
            bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
            self.stream.write(f"\r[{bar}] {line}" + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self):
        self.show(final=True)
        self.writer.close()
