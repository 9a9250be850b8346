"""The figures of the generated report (reports/index.html): one function per figure, PNG written atomically.

Every function takes DataFrames or arrays and a destination, draws on a bare ``matplotlib.figure.Figure`` (Agg
canvas, no pyplot state, nothing to close) and returns the path written; a failed plot leaves no PNG behind.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from symbench.atomic import atomic_path

DPI = 100
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">")
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray")
ROI_COLORS = ("tab:red", "tab:orange", "gold", "tab:cyan", "tab:blue", "tab:green", "tab:purple", "tab:pink")


def plot_accuracy_vs_invariance(benchmark: pd.DataFrame, dest: str | Path) -> Path:
    """KS: one panel per model, one point per variant: test accuracy against the measured invariance change rate."""
    _require(benchmark, ("model", "variant", "test_accuracy_mean", "invariance_change_rate_mean"), "benchmark")
    models = list(dict.fromkeys(benchmark["model"]))
    variants = list(dict.fromkeys(benchmark["variant"]))
    marker = dict(zip(variants, itertools.cycle(MARKERS)))
    color = dict(zip(variants, itertools.cycle(COLORS)))
    ncols = min(3, len(models))
    nrows = -(-len(models) // ncols)
    figure = _figure((4.0 * ncols, 3.0 * nrows + 0.8))
    axes = figure.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    for ax, model in zip(axes, models, strict=False):
        rows = benchmark[benchmark["model"] == model]
        for r in rows.itertuples():
            ax.scatter(
                r.invariance_change_rate_mean, r.test_accuracy_mean, marker=marker[r.variant], color=color[r.variant]
            )
        ax.set_title(model, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[len(models) :]:
        ax.set_visible(False)
    for ax in axes[(nrows - 1) * ncols :]:
        ax.set_xlabel("invariance change rate (0 = exact)")
    for ax in axes[::ncols]:
        ax.set_ylabel("test accuracy")
    handles = [Line2D([], [], ls="", marker=marker[v], color=color[v], label=v) for v in variants]
    figure.legend(handles=handles, loc="lower center", ncol=min(len(variants), 7), fontsize=8)
    figure.suptitle("KS: test accuracy vs measured invariance error, one point per variant", fontsize=11)
    figure.tight_layout(rect=(0, 0.06, 1, 0.97))
    return _save(figure, dest)


def plot_accuracy_per_variant(benchmark: pd.DataFrame, dest: str | Path) -> Path:
    """KS: bars of test accuracy per model and variant (error bars: sd over seeds), the reference as black ticks."""
    _require(benchmark, ("model", "variant", "test_accuracy_mean", "test_accuracy_std"), "benchmark")
    models = list(dict.fromkeys(benchmark["model"]))
    variants = list(dict.fromkeys(benchmark["variant"]))
    cell = {(r.model, r.variant): r for r in benchmark.itertuples()}
    width = 0.8 / len(variants)
    figure = _figure((max(9.0, 1.4 * len(models) + 2.0), 4.5))
    ax = figure.subplots()
    for i, (variant, color) in enumerate(zip(variants, itertools.cycle(COLORS))):
        xs, heights, errors = [], [], []
        for j, model in enumerate(models):
            r = cell.get((model, variant))
            if r is None:
                continue
            x = j - 0.4 + (i + 0.5) * width
            xs.append(x)
            heights.append(r.test_accuracy_mean)
            errors.append(0.0 if pd.isna(r.test_accuracy_std) else r.test_accuracy_std)
            ref = getattr(r, "reference_accuracy", None)
            if ref is not None and not pd.isna(ref):
                ax.plot([x - width / 2, x + width / 2], [ref, ref], color="black", lw=1.5)
        ax.bar(xs, heights, width=width, yerr=errors, color=color, label=variant, capsize=2)
    ax.plot([], [], color="black", lw=1.5, label="reference")
    ax.set_xticks(range(len(models)), models, rotation=30, ha="right")
    ax.set_ylabel("test accuracy (exact h11)")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("KS: test accuracy per variant (mean ± sd over seeds); black: the reference's", fontsize=11)
    figure.tight_layout()
    return _save(figure, dest)


def plot_confusion_matrix(
    confusion: np.ndarray, labels: Sequence[str], dest: str | Path, title: str = "confusion matrix"
) -> Path:
    """Counts (rows: true class, columns: predicted), coloured by the share of each true class."""
    counts = np.asarray(confusion, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] != len(labels):
        raise ValueError(f"confusion: expected a square {len(labels)}x{len(labels)} matrix, got {counts.shape}")
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    figure = _figure((6.5, 5.8))
    ax = figure.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (i, j), n in np.ndenumerate(counts):
        if n:
            ax.text(j, i, f"{n:.0f}", ha="center", va="center", fontsize=7, color="white" if share[i, j] > 0.5 else "k")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    figure.colorbar(image, ax=ax, label="share of the true class")
    ax.set_title("\n".join(textwrap.wrap(title, 70)), fontsize=9)
    figure.tight_layout()
    return _save(figure, dest)


def epoch_curve(log: pd.DataFrame) -> pd.DataFrame:
    """Per-epoch means of a Lightning CSV log (train and validation rows are logged separately)."""
    _require(log, ("epoch",), "Lightning CSV log")
    numeric = log.drop(columns=[c for c in ("step",) if c in log.columns]).apply(pd.to_numeric, errors="coerce")
    return numeric.groupby("epoch", sort=True).mean().reset_index()


def plot_learning_curves(
    curves: Mapping[str, Mapping[str, pd.DataFrame]], dest: str | Path, *, metric: str, title: str
) -> Path:
    """One panel per group (a model), one line per run (a variant): ``metric`` of :func:`epoch_curve` by epoch."""
    if not curves:
        raise ValueError("curves: expected at least one group of training logs")
    runs_seen = list(dict.fromkeys(run for runs in curves.values() for run in runs))
    color = dict(zip(runs_seen, itertools.cycle(COLORS)))  # one colour per run name across panels, one legend
    marker = dict(zip(runs_seen, itertools.cycle(MARKERS)))
    ncols = min(3, len(curves))
    nrows = -(-len(curves) // ncols)
    figure = _figure((4.0 * ncols, 2.8 * nrows + 1.0))
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (group, runs) in zip(axes, curves.items(), strict=False):
        for run, curve in runs.items():
            if metric not in curve.columns or curve[metric].isna().all():
                continue
            points = curve[["epoch", metric]].dropna()
            ax.plot(points["epoch"], points[metric], marker=marker[run], ms=4, color=color[run], label=run)
        ax.set_title(group, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        low, high = ax.get_xlim()
        if high - low < 1:  # one epoch: one tick
            epoch = round((low + high) / 2)
            ax.set_xticks([epoch])
            ax.set_xlim(epoch - 0.5, epoch + 0.5)
        ax.grid(alpha=0.3)
        if not ax.lines:
            ax.text(0.5, 0.5, f"no {metric} logged", ha="center", va="center", transform=ax.transAxes)
    for ax in axes[len(curves) :]:
        ax.set_visible(False)
    handles = [Line2D([], [], marker=marker[r], color=color[r], label=r) for r in runs_seen]
    figure.legend(handles=handles, loc="lower center", ncol=min(len(handles), 7), fontsize=8)
    figure.suptitle(title, fontsize=11)
    figure.tight_layout(rect=(0, 0.5 / (2.8 * nrows + 1.0), 1, 1))
    return _save(figure, dest)


def plot_per_subject_accuracy(
    per_subject: pd.DataFrame,
    dest: str | Path,
    *,
    chance: float = 0.1,
    reference: Mapping[str, float] | None = None,
) -> Path:
    """Music (brain): bars of accuracy per model and subject, chance as a dashed line, the seed's as black ticks."""
    _require(per_subject, ("model", "subject", "accuracy"), "per-subject accuracies")
    models = list(dict.fromkeys(per_subject["model"]))
    subjects = sorted(set(per_subject["subject"]))
    value = {(r.model, r.subject): r.accuracy for r in per_subject.itertuples()}
    width = 0.8 / len(subjects)
    figure = _figure((max(7.0, 1.2 * len(models)), 4.2))
    ax = figure.subplots()
    for i, (subject, color) in enumerate(zip(subjects, itertools.cycle(COLORS))):
        xs = [j - 0.4 + (i + 0.5) * width for j, m in enumerate(models) if (m, subject) in value]
        heights = [value[(m, subject)] for m in models if (m, subject) in value]
        ax.bar(xs, heights, width=width, color=color, label=subject)
    for j, model in enumerate(models):
        ref = (reference or {}).get(model)
        if ref is not None and not pd.isna(ref):
            ax.plot([j - 0.4, j + 0.4], [ref, ref], color="black", lw=1.5)
    ax.axhline(chance, color="gray", ls="--", lw=1, label=f"chance ({chance:.2f})")
    if reference:
        ax.plot([], [], color="black", lw=1.5, label="seed's")
    ax.set_xticks(range(len(models)), models, rotation=30, ha="right")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=3, loc="upper left")
    ax.set_title("Music (brain): genre decoding accuracy per subject (mean over seeds)", fontsize=11)
    figure.tight_layout()
    return _save(figure, dest)


def plot_rois_on_mni(
    atlas_image: str | Path, rois: Mapping[int, str], dest: str | Path, template: object | None = None
) -> Path:
    """The auditory regions of the atlas (``rois``: atlas id -> name) drawn on the MNI152 template with nilearn."""
    import nibabel as nib
    from nilearn import datasets, plotting

    atlas = nib.load(atlas_image)
    labels = np.asanyarray(atlas.dataobj)
    present = [k for k in rois if (labels == k).any()]
    if not present:
        raise ValueError(f"{atlas_image}: none of the region ids {sorted(rois)} is in the atlas")
    # relabel 1..n so each region takes one colour of a listed colormap
    relabelled = np.zeros(labels.shape, dtype=np.int16)
    for n, region in enumerate(present, start=1):
        relabelled[labels == region] = n
    roi_img = nib.Nifti1Image(relabelled, atlas.affine)
    centre = np.argwhere(relabelled > 0).mean(axis=0)
    _, y, z = atlas.affine[:3, :3] @ centre + atlas.affine[:3, 3]  # x: the left hemisphere's regions
    colors = [c for c, _ in zip(itertools.cycle(ROI_COLORS), present)]
    cmap = ListedColormap(colors)
    bg = template if template is not None else datasets.load_mni152_template(resolution=2)
    figure = Figure(figsize=(11, 7), facecolor="black")
    FigureCanvasAgg(figure)
    common = {"bg_img": bg, "figure": figure, "cmap": cmap, "vmin": 0.5, "vmax": len(present) + 0.5}
    common |= {"colorbar": False, "resampling_interpolation": "nearest", "black_bg": True}
    plotting.plot_roi(roi_img, display_mode="ortho", cut_coords=(-55.0, y, z), axes=(0, 0.43, 1, 0.45), **common)
    plotting.plot_roi(roi_img, display_mode="z", cut_coords=np.linspace(-5, 35, 6), axes=(0, 0.02, 1, 0.4), **common)
    handles = [
        Line2D([], [], ls="", marker="s", color=c, label=f"{k} {rois[k]}") for c, k in zip(colors, present, strict=True)
    ]
    figure.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.955),
        ncol=len(handles),
        fontsize=8,
        facecolor="black",
        labelcolor="white",
    )
    figure.suptitle(
        f"auditory ROIs (Desikan-Killiany ids {', '.join(map(str, present))}) on the MNI152 template",
        color="white",
        fontsize=11,
        x=0.01,
        ha="left",
    )
    return _save(figure, dest, facecolor="black")


def _figure(size: tuple[float, float]) -> Figure:
    figure = Figure(figsize=size)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, dest: str | Path, **kwargs: object) -> Path:
    dest = Path(dest)
    with atomic_path(dest) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI, **kwargs)
    return dest


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: expected columns {missing}, got {list(df.columns)}")
    if df.empty:
        raise ValueError(f"{what}: expected at least one row, got none")
