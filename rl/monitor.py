"""What a user watches during training: TensorBoard scalars and the console progress line."""

from __future__ import annotations

import collections
import math
import sys
import time

from .events import HParams, summary_writer


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


class Monitor:
    """The `log(tag, value, step, agent=0)` callback algorithms call: every scalar goes to
    TensorBoard (a population's agents each to their own run, `seed_<s>/`, so TensorBoard overlays
    the seeds); the console shows steps, SPS over all agents, the mean return of the last 100
    episodes (`episodes`; the median and range of the agents' means for a population) and
    elapsed / remaining time, as a live bar on a terminal and as a plain line every `every_secs`
    otherwise."""

    def __init__(self, logdir, total_steps, start_step=0, stream=None, every_secs=5.0, seeds=None):
        import os

        seeds = list(seeds) if seeds is not None else [None]
        self.writers = [summary_writer(logdir if len(seeds) == 1 else os.path.join(logdir, f"seed_{s}"))
                        for s in seeds]
        self.writer = self.writers[0]
        # A population's own run, beside its agents': the IQM over seeds and the HParams session
        # that compares populations.
        self.population = summary_writer(logdir) if len(seeds) > 1 else None
        self.sessions = []
        self.histogram_every = 0  # updates between histograms of weights, gradients and actions
        self.total, self.step, self.start_step = total_steps, start_step, start_step
        self.stream = stream or sys.stdout
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.returns = [collections.deque(maxlen=100) for _ in seeds]
        self.every_secs, self.started, self.last_print = every_secs, time.perf_counter(), 0.0
        self.printed = (None, None)  # the step and return of the last line printed
        # The first steps reported come after numba's compilation; rates measured from there on
        # estimate the time left (the first run of a process compiles for seconds).
        self.warm = None
        self.eval_progress = EpisodeProgress(self.stream, every_secs, agents=len(seeds))

    def __call__(self, tag, value, step, agent=0):
        self.writers[agent].add_scalar(tag, value, step)
        if step != self.step:
            self.step = step
            if self.warm is None:
                self.warm = (time.perf_counter(), step)
            self.show()

    def episodes(self, returns, step, agent=0):
        """The returns of the episodes of `agent` that ended at `step` (a numpy array): the
        console's recent mean is over the last 100 episodes. algos.common.log_ended calls it
        beside the one charts/episodic_return scalar per step, their mean, that TensorBoard gets."""
        window = self.returns[agent]
        window.extend(returns[-window.maxlen:].tolist())

    def histogram(self, tag, values, step, agent=0):
        self.writers[agent].add_histogram(tag, values, step)

    def each(self, method, *args, **kwargs):
        """Call a writer method (add_text, add_scalar, ...) on every agent's run."""
        for w in self.writers:
            getattr(w, method)(*args, **kwargs)

    def hparams(self, settings: dict, seeds: list):
        """Every agent's run, and a population's own, as an HParams session with its settings;
        the metrics are the final evaluation (eval/mean_return, and eval/iqm for a population)
        and the last training return."""
        for seed, writer in zip(seeds, self.writers):
            self.sessions.append(HParams(writer, {**settings, "seed": seed},
                                         ["eval/mean_return", "charts/episodic_return"]))
        if self.population is not None:
            self.sessions.append(HParams(self.population, {**settings, "seeds": f"{seeds[0]}-{seeds[-1]}"},
                                         ["eval/iqm", "eval/mean_return"]))

    def evaluated(self, means: list, iqm: float | None):
        for writer, mean in zip(self.writers, means):
            writer.add_scalar("eval/mean_return", mean, self.step)
        if self.population is not None:
            self.population.add_scalar("eval/iqm", iqm, self.step)
            self.population.add_scalar("eval/mean_return", sum(means) / len(means), self.step)

    def mean_return(self) -> float:
        means = sorted(sum(r) / len(r) for r in self.returns if r)
        return means[len(means) // 2] if means else float("nan")

    def _returns_text(self) -> str:
        means = [sum(r) / len(r) for r in self.returns if r]
        if not means:  # no episode has ended yet
            return "return –"
        if len(self.returns) == 1:
            return f"return {self.mean_return():.1f}"
        return f"return median {self.mean_return():.1f} [{min(means):.1f}, {max(means):.1f}]"

    def show(self, final=False):
        now = time.perf_counter()
        if not final and now - self.last_print < (0.1 if self.live else self.every_secs):
            return
        elapsed = now - self.started
        rate = (self.step - self.start_step) / elapsed if elapsed > 0 else 0.0  # steps per agent per second
        sps = rate * len(self.returns)
        if self.warm is not None and self.step > self.warm[1] and now > self.warm[0]:
            eta = _duration((self.total - self.step) * (now - self.warm[0]) / (self.step - self.warm[1]))
        else:
            eta = "–"  # only the warm-up has been timed
        frac = min(1.0, self.step / self.total) if self.total else 1.0
        returns = self._returns_text()
        line = (f"{self.step:>{len(f'{self.total:,}')},}/{self.total:,} steps | {sps:,.0f} SPS | "
                f"{returns} | {_duration(elapsed)} < {eta}")
        shown = (self.step, returns)
        if final and not self.live and self.printed == shown:
            return  # this step and return are already the last line printed
        self.last_print, self.printed = now, shown
        if self.live:
            width = 20
            bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
            self.stream.write(f"\r[{bar}] {line}" + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self):
        """End the HParams sessions and write everything out."""
        for session in self.sessions:
            session.end()
        for writer in self.writers + [self.population] * (self.population is not None):
            writer.close()


class EpisodeProgress:
    """The `progress(done, total)` callback of rl.evaluate.evaluate: a sign of life while the
    final evaluation runs (a live count on a terminal, a line every `every_secs` otherwise)."""

    def __init__(self, stream=None, every_secs=5.0, agents=1):
        self.stream = stream or sys.stdout
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every_secs, self.agents, self.last_print, self.ended = every_secs, agents, None, False

    def __call__(self, done, total):
        now = time.perf_counter()
        if self.last_print is None:
            self.stream.write(f"evaluating the deterministic policy over {total} episodes"
                              f"{' per agent' if self.agents > 1 else ''}\n")
        elif self.ended or now - self.last_print < (0.1 if self.live else self.every_secs) and done < total:
            return
        elif self.live:
            self.ended = done >= total
            self.stream.write(f"\r  {done}/{total} episodes" + ("\n" if self.ended else ""))
        elif done < total:
            self.stream.write(f"  {done}/{total} episodes\n")
        self.last_print = now
        self.stream.flush()
