"""Training curves from run directories as one SVG line chart (no plotting library needed; the
event files are read with TensorBoard's own reader: pip install tensorboard).

    python scripts/plot_curves.py runs/CartPoleNoVel__rppo__1__* runs/CartPoleNoVel__ppo__1__* \
        --labels "recurrent PPO (GRU)" "PPO (MLP)" --out docs/cartpole_novel.svg

Each curve is the mean of the tag's values in 40 equal bins of env steps.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
W, H, LEFT, RIGHT, TOP, BOTTOM = 640, 320, 60, 36, 20, 40


def read(run_dir, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(run_dir, size_guidance={"scalars": 0})
    acc.Reload()
    if tag not in acc.Tags()["scalars"]:
        sys.exit(f"error: {run_dir} has no scalar {tag!r}; it has: {', '.join(sorted(acc.Tags()['scalars']))}")
    events = acc.Scalars(tag)
    return np.array([e.step for e in events], float), np.array([e.value for e in events], float)


def binned(steps, values, bins=40):
    edges = np.linspace(0, steps.max(), bins + 1)
    which = np.clip(np.searchsorted(edges, steps, side="left") - 1, 0, bins - 1)
    keep = np.bincount(which, minlength=bins) > 0
    means = np.bincount(which, values, minlength=bins)[keep] / np.bincount(which, minlength=bins)[keep]
    return ((edges[:-1] + edges[1:]) / 2)[keep], means


def nice_ticks(lo, hi, n=5):
    """Round tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi]."""
    raw = (hi - lo) / max(n - 1, 1) or 1.0
    power = 10 ** np.floor(np.log10(raw))
    step = power * min((m for m in (1, 2, 5, 10) if m * power >= raw), default=10)
    return np.arange(np.floor(lo / step) * step, hi + step * 0.999, step)


def svg(curves, labels, tag):
    xs = nice_ticks(0, max(x.max() for x, _ in curves))
    ys = nice_ticks(min(min(y.min() for _, y in curves), 0.0), max(y.max() for _, y in curves))
    x_max, y_min, y_max = xs[-1], ys[0], ys[-1]

    def px(x, y):
        return (LEFT + (W - LEFT - RIGHT) * x / x_max,
                TOP + (H - TOP - BOTTOM) * (1 - (y - y_min) / ((y_max - y_min) or 1)))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" '
             f'font-size="11"><rect width="{W}" height="{H}" fill="white"/>']
    for y in ys:  # grid and tick labels
        _, py = px(0, y)
        parts.append(f'<line x1="{LEFT}" y1="{py:.1f}" x2="{W - RIGHT}" y2="{py:.1f}" stroke="#ddd"/>'
                     f'<text x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end">{y:g}</text>')
    for x in xs:
        qx, _ = px(x, y_min)
        parts.append(f'<text x="{qx:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{x:,.0f}</text>')
    parts.append(f'<text x="{(W + LEFT) / 2}" y="{H - 6}" text-anchor="middle">env steps</text>'
                 f'<text x="14" y="{TOP + (H - TOP - BOTTOM) / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {TOP + (H - TOP - BOTTOM) / 2})">{tag}</text>')
    for k, ((x, y), label) in enumerate(zip(curves, labels)):
        color = COLORS[k % len(COLORS)]
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in (px(u, v) for u, v in zip(x, y)))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>'
                     f'<rect x="{LEFT + 12}" y="{TOP + 8 + 16 * k}" width="14" height="3" fill="{color}"/>'
                     f'<text x="{LEFT + 32}" y="{TOP + 13 + 16 * k}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run directories written by python -m rl.train")
    parser.add_argument("--labels", nargs="+", help="one label per run (default: the directory names)")
    parser.add_argument("--tag", default="charts/episodic_return")
    parser.add_argument("--out", required=True, help="the SVG file to write")
    args = parser.parse_args()
    labels = args.labels or args.runs
    if len(labels) != len(args.runs):
        parser.error(f"{len(args.runs)} runs need {len(args.runs)} labels, got {len(labels)}")
    curves = [binned(*read(run, args.tag)) for run in args.runs]
    with open(args.out, "w") as f:
        f.write(svg(curves, labels, args.tag))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
