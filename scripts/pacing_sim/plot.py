"""PNG of occupancy against abandon rate, one panel per scenario (matplotlib, Agg)."""

from __future__ import annotations

import math
from pathlib import Path

from .experiment import BEST_FIXED, CAP, OURS, VICIDIAL, WOMBAT, WOMBAT_MATCHED, Case

TICKS = (0, 1, 2, 3, 10, 30, 60)
STYLE = {
    OURS: ("tab:green", "o"),
    VICIDIAL: ("tab:red", "s"),
    WOMBAT: ("tab:orange", "^"),
    WOMBAT_MATCHED: ("tab:brown", "v"),
    BEST_FIXED: ("tab:blue", "D"),
}


def plot(cases: list[Case], names: list[str], path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 4
    rows = math.ceil(len(names) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.6 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        mine = [c for c in cases if c.scenario == name]
        for case in mine:
            sweep = sorted(case.fixed_sweep, key=lambda f: f.setting)
            ax.plot(
                [100 * f.abandon_rate for f in sweep],
                [100 * f.occupancy for f in sweep],
                color="tab:blue",
                alpha=0.25,
                linewidth=1,
                marker=".",
            )
            for policy, (color, marker) in STYLE.items():
                if policy not in case.figures:
                    continue  # bench-pacing --quick
                f = case.figures[policy]
                label = policy if case is mine[0] else None
                ax.scatter(
                    100 * f.abandon_rate,
                    100 * f.occupancy,
                    color=color,
                    marker=marker,
                    label=label,
                    s=28,
                    zorder=3,
                )
        ax.axvline(100 * CAP, color="grey", linestyle="--", linewidth=1)
        # Linear up to 3%, where the cap sits, logarithmic past it: fixed ratios run away.
        ax.set_xscale("symlog", linthresh=3.0, linscale=2.0)
        ax.set_xlim(left=0.0)
        ax.set_xticks([t for t in TICKS if t <= ax.get_xlim()[1]])
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("abandoned, % of live-answered calls")
        ax.set_ylabel("operator occupancy, %")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    handles.append(plt.Line2D([], [], color="tab:blue", alpha=0.4, marker="."))
    labels.append("fixed ratios tried (sweep)")
    fig.legend(handles, labels, loc="lower center", ncol=6, fontsize=9)
    fig.suptitle("Pacing benchmark (simulated): occupancy against abandon rate, every seed")
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)
