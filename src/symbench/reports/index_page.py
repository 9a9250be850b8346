"""The one page people read: reports/index.html and its markdown twin reports/README.md, from the summaries alone.

A page is a header (profile, config hash, date, git revision) and one section per study; a section holds facts,
tables and figures. Every table row carries a ``provenance`` column: ``real`` (our run on the real data),
``fixture`` (our run on the synthetic fixture: it checks the pipeline, it is not a finding) and ``reference``
(a number from the reference's logs or the seed study, beside ours or alone where we did not run the cell).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from symbench.reports.tables import mean_sd

PROVENANCE = "provenance"
PROVENANCE_LEGEND = (
    "provenance: real = our run on the real data; fixture = our run on the synthetic fixture (checks the pipeline, "
    "not a finding); reference = the number from the reference's logs or the seed study"
)


@dataclass(frozen=True)
class PageHeader:
    """What produced the page: profile, sha256 of params.yaml (12 hex), UTC date, git revision."""

    profile: str
    description: str
    config_hash: str
    generated: str
    revision: str


@dataclass(frozen=True)
class Table:
    """A titled table of display strings, one page row per DataFrame row."""

    title: str
    frame: pd.DataFrame
    note: str = ""


@dataclass(frozen=True)
class PageFigure:
    """A PNG referenced from the page (``src`` relative to the page) and its caption."""

    src: str
    caption: str


@dataclass(frozen=True)
class Section:
    """One study: facts (key: value lines), tables, figures and notes (what is missing and why)."""

    title: str
    facts: Mapping[str, str] = field(default_factory=dict)
    tables: Sequence[Table] = ()
    figures: Sequence[PageFigure] = ()
    notes: Sequence[str] = ()


def page_header(profile: str, description: str, params: Path, root: Path, now: dt.datetime | None = None) -> PageHeader:
    """The header of a page generated now from ``params`` (params.yaml) in the checkout at ``root``."""
    now = now or dt.datetime.now(dt.UTC)
    return PageHeader(
        profile=profile,
        description=description,
        config_hash=config_hash(params),
        generated=now.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        revision=git_revision(root),
    )


def config_hash(params: Path) -> str:
    """First 12 hex digits of the sha256 of ``params`` (the composed params.yaml every stage read)."""
    if not params.is_file():
        raise FileNotFoundError(f"{params}: expected the composed params.yaml (run `make params`)")
    return hashlib.sha256(params.read_bytes()).hexdigest()[:12]


def git_revision(root: Path) -> str:
    """``git rev-parse --short HEAD`` of ``root``, ``+dirty`` when tracked files changed; ``unknown`` outside git."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if status.strip() else "") if head else "unknown"


def ks_table(benchmark: pd.DataFrame, reference: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """KS rows from benchmark.csv, then the reference's cells we did not run (``reference``: accuracy/sd maps)."""
    rows = []
    for r in benchmark.itertuples():
        claims = str(r.claims_invariance)
        if claims == "S4xS26" and r.invariance_change_rate_mean > 0:
            claims += " (violated)"
        rows.append(
            {
                "model": r.model,
                "variant": r.variant,
                "strategy": r.strategy,
                "claims": claims,
                "seeds": str(int(r.n_seeds)),
                "accuracy": mean_sd(r.test_accuracy_mean, r.test_accuracy_std),
                "reference": _ref(r.reference_accuracy, r.reference_sd),
                "Δ vs ref": _delta(r.test_accuracy_mean, r.reference_accuracy),
                "inv change rate": _rate(r.invariance_change_rate_mean),
                PROVENANCE: _provenance(r.data_source, r.reference_accuracy),
            }
        )
    ran = set(zip(benchmark["model"], benchmark["variant"], strict=True))
    accuracy, sd = (reference or {}).get("accuracy") or {}, (reference or {}).get("sd") or {}
    for model, variants in accuracy.items():
        for variant, acc in variants.items():
            if (model, variant) not in ran:
                ref = _ref(acc, (sd.get(model) or {}).get(variant))
                rows.append({"model": model, "variant": variant, "accuracy": "not run", "reference": ref})
                rows[-1][PROVENANCE] = "reference"
    return _frame(rows)


def brain_table(brain: pd.DataFrame) -> pd.DataFrame:
    """Music (brain) rows from brain.csv: accuracy mean ± sd over subjects beside the seed's."""
    rows = [
        {
            "model": r.model,
            "input": r.input,
            "subjects": str(int(r.n_subjects)),
            "seeds": str(int(r.n_seeds)),
            "accuracy": mean_sd(r.accuracy_mean, r.accuracy_sd),
            "seed's": _ref(r.reference_accuracy, r.reference_sd),
            "Δ vs seed": _delta(r.accuracy_mean, r.reference_accuracy),
            "seed's note": "" if pd.isna(r.reference_note) else str(r.reference_note),
            PROVENANCE: _provenance(r.data_source, r.reference_accuracy),
        }
        for r in brain.itertuples()
    ]
    return _frame(rows)


def per_subject_accuracy(metrics: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per (model, subject), averaged over seeds, from the brain metrics JSONs' cells."""
    grouped = metrics.groupby(["model", "subject"], sort=False)
    out = grouped["accuracy"].mean().rename("accuracy").to_frame()
    out["data_source"] = grouped["data_source"].agg(lambda s: "+".join(sorted(set(s))))
    return out.reset_index()


def per_subject_table(per_subject: pd.DataFrame) -> pd.DataFrame:
    """One row per model, one column per subject (:func:`per_subject_accuracy`), three decimals."""
    subjects = sorted(set(per_subject["subject"]))
    rows = []
    for model, cells in per_subject.groupby("model", sort=False):
        value = dict(zip(cells["subject"], cells["accuracy"], strict=True))
        row = {"model": model, **{s: f"{value[s]:.3f}" if s in value else "—" for s in subjects}}
        row[PROVENANCE] = _provenance("+".join(sorted(set(cells["data_source"]))), None)
        rows.append(row)
    return _frame(rows)


def audio_table(audio: pd.DataFrame) -> pd.DataFrame:
    """Music (audio) rows from audio.csv: accuracy mean ± sd over folds and seeds beside the seed's."""
    rows = [
        {
            "model": r.model,
            "protocol": r.protocol,
            "weights": r.weights,
            "runs": str(int(r.n_runs)),
            "accuracy": mean_sd(r.accuracy_mean, r.accuracy_sd),
            "seed's": _ref(r.reference_accuracy, r.reference_sd),
            "Δ vs seed": _delta(r.accuracy_mean, r.reference_accuracy),
            PROVENANCE: _provenance(r.data_source, r.reference_accuracy),
        }
        for r in audio.itertuples()
    ]
    return _frame(rows)


def render_html(header: PageHeader, sections: Sequence[Section]) -> str:
    """The whole page: plain HTML, a little CSS, every string escaped, figures as relative ``<img>``."""
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>symbench report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>symbench: the generated report</h1>",
        '<table class="header"><tbody>',
        *[f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _header_lines(header).items()],
        "</tbody></table>",
        f'<p class="note">{e(_GENERATED)} {e(PROVENANCE_LEGEND)}.</p>',
    ]
    for section in sections:
        out.append(f"<section><h2>{e(section.title)}</h2>")
        if section.facts:
            out.append("<ul>" + "".join(f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in section.facts.items()) + "</ul>")
        out += [f'<p class="missing">{e(n)}</p>' for n in section.notes]
        for table in section.tables:
            out.append(f"<h3>{e(table.title)}</h3>")
            if table.note:
                out.append(f'<p class="note">{e(table.note)}</p>')
            out.append(_html_table(table.frame))
        for fig in section.figures:
            out.append(
                f'<figure><img src="{e(fig.src)}" alt="{e(fig.caption)}" loading="eager">'
                f"<figcaption>{e(fig.caption)}</figcaption></figure>"
            )
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render_markdown(header: PageHeader, sections: Sequence[Section]) -> str:
    """The markdown twin of :func:`render_html`: the same header, tables and figures."""
    out = ["# symbench: the generated report", ""]
    out += [f"- **{k}**: {_md(v)}" for k, v in _header_lines(header).items()]
    out += ["", f"{_GENERATED} {PROVENANCE_LEGEND}.", ""]
    for section in sections:
        out += [f"## {section.title}", ""]
        if section.facts:
            out += [f"- **{k}**: {_md(v)}" for k, v in section.facts.items()] + [""]
        for note in section.notes:
            out += [f"> {_md(note)}", ""]
        for table in section.tables:
            out += [f"### {table.title}", ""]
            if table.note:
                out += [_md(table.note), ""]
            out += [_md_table(table.frame), ""]
        for fig in section.figures:
            out += [f"![{_md(fig.caption)}]({fig.src})", "", f"*{_md(fig.caption)}*", ""]
    return "\n".join(out).rstrip() + "\n"


_GENERATED = (
    "Generated by `dvc repro` (stage `report`, `make report`) from the metrics files and summaries under reports/; "
    "do not edit by hand."
)
_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}"
    "th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left}"
    "thead th{background:#f0f0f0}td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}"
    "table.header th{background:#f7f7f7}figure{margin:1em 0 2em}img{max-width:100%;border:1px solid #ddd}"
    "figcaption{font-size:0.9em;color:#555}.note{color:#555;font-size:0.9em}"
    ".missing{background:#fff6e0;border-left:4px solid #e0a000;padding:0.4em 0.8em}"
)


def _header_lines(header: PageHeader) -> dict[str, str]:
    return {
        "profile": f"{header.profile} — {header.description}" if header.description else header.profile,
        "config hash": f"{header.config_hash} (sha256 of params.yaml, first 12 hex digits)",
        "generated": header.generated,
        "git revision": header.revision,
    }


def _html_table(frame: pd.DataFrame) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = "".join(f'<td class="num">{e(v)}</td>' if _numeric(v) else f"<td>{e(v)}</td>" for v in map(str, row))
        body.append(f"<tr>{cells}</tr>")
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _md_table(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(_md(str(c)) for c in frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(_md(str(v)) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _md(text: str) -> str:
    # "<model>" would be read as an HTML tag by GitHub's renderer
    return str(text).replace("|", "\\|").replace("<", "\\<").replace("\n", " ")


def _numeric(text: str) -> bool:
    head = text.split(" ")[0].lstrip("+-")
    return head.replace(".", "", 1).isdigit()


def _frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    columns = [c for c in frame.columns if c != PROVENANCE] + [PROVENANCE]  # provenance last in every table
    return frame.reindex(columns=columns).fillna("—")


def _has(value: Any) -> bool:
    return value is not None and not pd.isna(value)


def _ref(accuracy: Any, sd: Any) -> str:
    return mean_sd(float(accuracy), float(sd) if _has(sd) else None) if _has(accuracy) else "—"


def _rate(value: float) -> str:
    return "0" if value == 0 else f"{value:.3f}"


def _delta(ours: float, reference: Any) -> str:
    return f"{ours - float(reference):+.3f}" if _has(reference) else "—"


def _provenance(data_source: Any, reference: Any) -> str:
    tokens = [t for t in str(data_source).split("+") if t and t != "nan"] or ["unknown"]
    return " + ".join(tokens + (["reference"] if _has(reference) else []))
