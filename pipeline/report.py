"""report: one self-contained HTML page a curator reads at a glance.

It reads what a run left behind, never runs anything:
- the task folders under a folder (either layout, through task_folder.py): verified tasks;
- the rejected tasks' evidence (`$ABC_WORK_DIR/rejected/<task_id>/`, the packages the gate
  refused, with their verification report in metadata.json), when there is any;
- batch reports (pipeline/batch.py's JSON, `$ABC_WORK_DIR/batches/latest.json`): every
  task outcome, rejected ones included, and each repository's verdict.

and draws tasks by language, framework, verdict and difficulty, and the tests' strength
(assertions per endpoint, the stand-ins each suite caught), as inline SVG made here (no
JavaScript, nothing fetched: the page works from a file, offline, in a mail attachment),
each with a table below it. Tasks written before the strength gate carry no `strength`
in their metadata: they are counted as "unknown", never dropped.

    found = collect(folder, rejected_dir=..., batch_reports=[...])   # rows, repositories
    html = render_report(found)
    write_report(folder, out, rejected_dir=..., batch_reports=[...])  # both, to a file
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import jinja2
import yaml
from markupsafe import Markup

from pipeline.models import Verdict
from pipeline.task_folder import NotATaskError, TaskFolder, read_task

TEMPLATE_DIR = Path(__file__).parent / "templates" / "report"
UNKNOWN = "unknown"
VERIFIED = "verified"
REJECTED = "rejected"
DIFFICULTIES = ("easy", "medium", "hard", UNKNOWN)
# Bins of assertions per endpoint: few assertions per endpoint is the weak end.
APE_BINS: tuple[tuple[str, float, float], ...] = (
    ("< 1", 0.0, 1.0),
    ("1 - 2", 1.0, 2.0),
    ("2 - 4", 2.0, 4.0),
    ("4 - 8", 4.0, 8.0),
    (">= 8", 8.0, float("inf")),
)

GREEN, RED, GREY = "#2e7d32", "#c62828", "#9e9e9e"
_PALETTE = ("#ef6c00", "#ad1457", "#6a1b9a", "#283593", "#00838f", "#558b2f", "#8d6e63", "#f9a825", "#4e342e")
_DIFFICULTY_COLORS = {"easy": "#66bb6a", "medium": "#ffa726", "hard": "#e53935", UNKNOWN: GREY}


@dataclass
class TaskRow:
    """One task as the page shows it; every field but the id may be unknown."""

    task_id: str
    status: str  # verified or rejected
    verdict: str  # "passed" for a verified task, else the rejection reason's verdict
    reason: str = ""
    kind: str = "implementation"
    format: str = ""
    language: str = UNKNOWN
    framework: str = UNKNOWN
    difficulty: str = UNKNOWN
    repository: str = ""
    source: str = ""  # where the row was read: tasks, evidence or batch
    strength: dict[str, Any] | None = None

    @property
    def endpoints(self) -> int | None:
        return _int(self.strength, "endpoints")

    @property
    def assertions_per_endpoint(self) -> float | None:
        if not self.strength:
            return None
        value = self.strength.get("assertions_per_endpoint")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        endpoints, assertions = self.endpoints, _int(self.strength, "assertions")
        return round(assertions / endpoints, 2) if endpoints and assertions is not None else None

    @property
    def stand_ins(self) -> list[tuple[str, str]]:
        """(name, outcome) of each stand-in the strength gate tried: caught (the tests
        failed it), passed (the tests are weak) or skipped (not run, so it proves nothing)."""
        found = (self.strength or {}).get("stand_ins")
        if not isinstance(found, list):
            return []
        return [
            (str(s["name"]), "skipped" if s.get("skipped") else "passed" if s.get("passed") else "caught")
            for s in found
            if isinstance(s, dict) and isinstance(s.get("name"), str)
        ]

    @property
    def weak_stand_ins(self) -> list[str]:
        return [name for name, outcome in self.stand_ins if outcome == "passed"]


@dataclass
class RepoRow:
    """A repository's line of a batch report (its verdict is the repository's, not a task's)."""

    full_name: str
    verdict: str
    reason: str
    tasks: int
    verified: int


@dataclass
class Collected:
    tasks: list[TaskRow] = field(default_factory=list)
    repos: list[RepoRow] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # what was read, in words


def _int(data: dict[str, Any] | None, key: str) -> int | None:
    value = (data or {}).get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# ------------------------------------------------------------------------ reading


def _config(task: TaskFolder) -> dict[str, Any]:
    """The task's config as a flat mapping (Harbor keeps difficulty under [metadata])."""
    try:
        if task.format == "harbor":
            return dict(tomllib.loads(task.config.read_text()).get("metadata", {}))
        loaded = yaml.safe_load(task.config.read_text())
        return loaded if isinstance(loaded, dict) else {}
    except (OSError, ValueError, yaml.YAMLError):
        return {}


def _metadata(task: TaskFolder) -> dict[str, Any]:
    # Read as plain JSON, not TaskMetadata: an old or damaged folder still gets its row.
    try:
        data = task.metadata_json()
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def task_row(task_dir: Path, *, status: str, source: str) -> TaskRow | None:
    """The row of one task folder (a published task or a rejected one's evidence)."""
    try:
        task = read_task(task_dir)
    except NotATaskError:
        return None
    metadata, config = _metadata(task), _config(task)
    service = metadata.get("service") if isinstance(metadata.get("service"), dict) else {}
    origin = metadata.get("source") if isinstance(metadata.get("source"), dict) else {}
    strength = metadata.get("strength") if isinstance(metadata.get("strength"), dict) else None
    report = metadata.get("verification_report") if isinstance(metadata.get("verification_report"), dict) else {}
    verdict = "passed" if status == VERIFIED else str(report.get("verdict") or UNKNOWN)
    difficulty = (strength or {}).get("difficulty") or config.get("difficulty") or UNKNOWN
    return TaskRow(
        task_id=str(metadata.get("task_id") or config.get("task_id") or task_dir.name),
        status=status,
        verdict=verdict,
        reason=str(report.get("reason") or ""),
        kind=str(metadata.get("kind") or config.get("kind") or "implementation"),
        format=task.format,
        language=str(service.get("language") or UNKNOWN),
        framework=str(service.get("framework") or UNKNOWN),
        difficulty=str(difficulty) if difficulty in DIFFICULTIES else UNKNOWN,
        repository="/".join(str(origin[k]) for k in ("owner", "name") if origin.get(k)),
        source=source,
        strength=strength,
    )


def _task_dirs(root: Path) -> list[Path]:
    """root itself when it is a task, else the task folders directly under it."""
    if not root.is_dir():
        return []
    try:
        read_task(root)
        return [root]
    except NotATaskError:
        pass
    # Hidden folders are a publish in progress (.<id>.incoming), never a task.
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _batch_rows(path: Path) -> tuple[list[TaskRow], list[RepoRow]]:
    """A batch report's task outcomes and repositories, read leniently (older reports too)."""
    data = json.loads(path.read_text())
    tasks, repos = [], []
    for repo in data.get("repos", []) if isinstance(data, dict) else []:
        if not isinstance(repo, dict):
            continue
        languages = repo.get("languages") or ([repo["language"]] if repo.get("language") else [])
        frameworks = repo.get("frameworks") or repo.get("framework_hints") or []
        outcomes = [t for t in repo.get("tasks", []) if isinstance(t, dict) and t.get("task_id")]
        for outcome in outcomes:
            tasks.append(
                TaskRow(
                    task_id=str(outcome["task_id"]),
                    status=VERIFIED if outcome.get("status") == VERIFIED else REJECTED,
                    verdict=str(outcome.get("verdict") or UNKNOWN),
                    reason=str(outcome.get("reason") or ""),
                    kind=str(outcome.get("kind") or "implementation"),
                    # A repository of several services: the task's own is not in the report.
                    language="/".join(languages) or UNKNOWN,
                    framework="/".join(frameworks) or UNKNOWN,
                    repository=str(repo.get("full_name") or ""),
                    source="batch",
                )
            )
        repos.append(
            RepoRow(
                full_name=str(repo.get("full_name") or "?"),
                verdict=str(repo.get("verdict") or UNKNOWN),
                reason=str(repo.get("reason") or ""),
                tasks=len(outcomes),
                verified=sum(1 for t in outcomes if t.get("status") == VERIFIED),
            )
        )
    return tasks, repos


def _merge(row: TaskRow, other: TaskRow) -> TaskRow:
    """`row` with what only `other` knows (a batch line knows the verdict's reason, an
    evidence folder the service and the strength)."""
    for name in ("language", "framework", "difficulty"):
        if getattr(row, name) == UNKNOWN and getattr(other, name) != UNKNOWN:
            setattr(row, name, getattr(other, name))
    row.reason = row.reason or other.reason
    row.repository = row.repository or other.repository
    row.strength = row.strength or other.strength
    if row.verdict == UNKNOWN:
        row.verdict = other.verdict
    return row


def collect(task_root: Path, *, rejected_dir: Path | None = None, batch_reports: Iterable[Path] = ()) -> Collected:
    """Every task the sources know, once each: a published folder wins over a rejected
    one's evidence (an older run may have rejected what a later one verified), which wins
    over a batch report's line; what a weaker source adds (a reason) is kept."""
    found = Collected()
    rows: dict[str, TaskRow] = {}
    repos: dict[str, RepoRow] = {}  # a repository in two reports: the later report's line

    def add(row: TaskRow) -> None:
        rows[row.task_id] = _merge(rows[row.task_id], row) if row.task_id in rows else row

    published = [r for d in _task_dirs(task_root) if (r := task_row(d, status=VERIFIED, source="tasks"))]
    for row in published:
        add(row)
    found.sources.append(f"{len(published)} task folder(s) in {task_root}")
    if rejected_dir is not None and rejected_dir.is_dir():
        evidence = [r for d in _task_dirs(rejected_dir) if (r := task_row(d, status=REJECTED, source="evidence"))]
        for row in evidence:
            if rows.get(row.task_id, row).status == REJECTED:
                add(row)
        found.sources.append(f"{len(evidence)} rejected task(s)' evidence in {rejected_dir}")
    for path in batch_reports:
        try:
            tasks, lines = _batch_rows(path)
        except (OSError, ValueError) as exc:
            found.sources.append(f"batch report {path}: not read ({exc.__class__.__name__}: {exc})")
            continue
        for row in tasks:
            # A verified line of a batch whose folder is gone from task_root is not shown
            # as verified: the page describes the tasks that are there.
            if row.task_id in rows:
                add(row)
            elif row.status == REJECTED:
                rows[row.task_id] = row
        repos.update((line.full_name, line) for line in lines)
        found.sources.append(f"batch report {path}: {len(lines)} repositories, {len(tasks)} task outcome(s)")
    found.repos = list(repos.values())
    # Rejected tasks first: they are what a curator has to look at.
    found.tasks = sorted(rows.values(), key=lambda r: (r.status == VERIFIED, r.task_id))
    return found


# ------------------------------------------------------------------------ charts


@dataclass
class Series:
    name: str
    color: str


@dataclass
class Chart:
    """A horizontal bar chart and the table shown below it (the same numbers).

    A chart of several series stacks them (verified and rejected) and has a legend; a
    chart of one series may colour each bar on its own (`colors`, one per label: a verdict,
    a difficulty)."""

    key: str
    title: str
    caption: str
    labels: list[str]
    series: list[Series]
    values: list[list[float]]  # values[label][series]
    colors: list[str] | None = None

    def table(self) -> tuple[list[str], list[list[str]]]:
        stacked = len(self.series) > 1
        head = ["", *(s.name for s in self.series)] + (["total"] if stacked else [])
        body = []
        for label, values in zip(self.labels, self.values, strict=True):
            cells = [_number(v) for v in values] + ([_number(sum(values))] if stacked else [])
            body.append([label, *cells])
        return head, body

    def svg(self) -> Markup:
        return Markup(bar_svg(self))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def bar_svg(chart: Chart, width: int = 520) -> str:
    """The chart as an SVG element: one row per label, one stacked segment per series,
    each a `<rect class="bar">` with a tooltip; a legend when there are several series."""
    label_w, value_w, row_h, bar_h = 170, 44, 26, 18
    legend_h = 24 if len(chart.series) > 1 else 0
    plot_w = width - label_w - value_w
    top = legend_h + 6
    height = top + max(1, len(chart.labels)) * row_h + 6
    largest = max((sum(v) for v in chart.values), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(chart.title)}">'
    ]
    if legend_h:
        x = 8
        for s in chart.series:
            parts.append(f'<rect class="key" x="{x}" y="6" width="12" height="12" fill="{s.color}"/>')
            parts.append(f'<text x="{x + 16}" y="16" class="legend">{escape(s.name)}</text>')
            x += 30 + 7 * len(s.name)
    if not chart.labels:
        parts.append(f'<text x="{label_w}" y="{top + 17}" class="empty">no data</text>')
    for i, (label, values) in enumerate(zip(chart.labels, chart.values, strict=True)):
        y = top + i * row_h
        shown = label if len(label) <= 25 else label[:24] + "\u2026"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" class="label">'
            f"<title>{escape(label)}</title>{escape(shown)}</text>"
        )
        x = float(label_w)
        for s, value in zip(chart.series, values, strict=True):
            if value <= 0:
                continue
            color = chart.colors[i] if chart.colors else s.color
            tip = f"{label}: {_number(value)}" if len(chart.series) == 1 else f"{label}: {s.name} {_number(value)}"
            w = max(1.0, plot_w * value / largest)
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y + 1}" width="{w:.1f}" height="{bar_h}" fill="{color}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 14}" class="value">{_number(sum(values))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _by(rows: list[TaskRow], attr: str) -> list[str]:
    """Labels by how many tasks have them, most first; unknown last."""
    counts = Counter(getattr(r, attr) for r in rows)
    return sorted(counts, key=lambda k: (k == UNKNOWN, -counts[k], k))


def _status_chart(key: str, title: str, rows: list[TaskRow], attr: str) -> Chart:
    labels = _by(rows, attr)
    values = [
        [float(sum(1 for r in rows if getattr(r, attr) == label and r.status == s)) for s in (VERIFIED, REJECTED)]
        for label in labels
    ]
    caption = f"verified and rejected tasks per {attr}; unknown when no metadata names it"
    return Chart(key, title, caption, labels, [Series("verified", GREEN), Series("rejected", RED)], values)


def _verdict_colors(labels: list[str]) -> list[str]:
    """One colour per verdict, the same in every chart: by its place in the vocabulary."""
    order = [str(v) for v in Verdict if v != Verdict.passed]
    return [
        GREEN if v == "passed" else _PALETTE[(order.index(v) if v in order else len(order)) % len(_PALETTE)]
        for v in labels
    ]


def charts(found: Collected) -> list[Chart]:
    rows = found.tasks
    verdicts = _by(rows, "verdict")
    verdicts.sort(key=lambda v: v != "passed")  # verified first, then each rejection reason
    difficulties = [d for d in DIFFICULTIES if any(r.difficulty == d for r in rows)]
    made = [
        _status_chart("language", "Tasks by language", rows, "language"),
        _status_chart("framework", "Tasks by framework", rows, "framework"),
        Chart(
            "verdict",
            "Tasks by verdict",
            "verified (passed) first; every other bar is a rejection reason",
            ["verified (passed)" if v == "passed" else v for v in verdicts],
            [Series("tasks", GREEN)],
            [[float(sum(1 for r in rows if r.verdict == v))] for v in verdicts],
            colors=_verdict_colors(verdicts),
        ),
        Chart(
            "difficulty",
            "Tasks by difficulty",
            "metadata.json's strength.difficulty, else the task config's; unknown when neither says",
            difficulties,
            [Series("tasks", GREY)],
            [[float(sum(1 for r in rows if r.difficulty == d))] for d in difficulties],
            colors=[_DIFFICULTY_COLORS[d] for d in difficulties],
        ),
        _ape_chart(rows),
        _stand_in_chart(rows),
    ]
    if found.repos:
        counts = Counter(r.verdict for r in found.repos)
        labels = sorted(counts, key=lambda v: (v != "passed", -counts[v], v))
        made.append(
            Chart(
                "repositories",
                "Repositories by verdict (batch reports)",
                "a repository's verdict: passed when at least one of its tasks was verified",
                labels,
                [Series("repositories", GREEN)],
                [[float(counts[v])] for v in labels],
                colors=_verdict_colors(labels),
            )
        )
    return made


def _ape_chart(rows: list[TaskRow]) -> Chart:
    values = [row.assertions_per_endpoint for row in rows if row.status == VERIFIED]
    labels = [name for name, _, _ in APE_BINS] + [UNKNOWN]
    counts = [sum(1 for v in values if v is not None and low <= v < high) for _, low, high in APE_BINS]
    counts.append(sum(1 for v in values if v is None))
    return Chart(
        "assertions",
        "Assertions per endpoint (verified tasks)",
        "assert statements in tests/test_func.py per endpoint; unknown: a task without `strength`",
        labels,
        [Series("tasks", "#1565c0")],
        [[float(c)] for c in counts],
    )


def _stand_in_chart(rows: list[TaskRow]) -> Chart:
    outcomes = ("caught", "passed", "skipped")
    counts: dict[str, Counter[str]] = {o: Counter() for o in outcomes}
    for row in rows:
        for name, outcome in row.stand_ins:
            counts[outcome][name] += 1
    names = sorted({n for c in counts.values() for n in c}, key=lambda n: (-sum(c[n] for c in counts.values()), n))
    values = [[float(counts[o][n]) for o in outcomes] + [0.0] for n in names]
    # Older tasks (no strength) and environment tasks (no stand-in builds) ran none.
    unknown = sum(1 for r in rows if r.status == VERIFIED and not r.stand_ins)
    if unknown:
        names.append(f"{UNKNOWN} (none run)")
        values.append([0.0, 0.0, 0.0, float(unknown)])
    return Chart(
        "stand_ins",
        "Stand-ins: caught by the tests or not",
        "a stand-in is a wrong implementation the tests must fail; one that passes makes them weak",
        names,
        [
            Series("caught", GREEN),
            Series("passed (weak)", RED),
            Series("skipped", "#90a4ae"),
            Series("none run", GREY),
        ],
        values,
    )


# ------------------------------------------------------------------------ the page


def _environment() -> jinja2.Environment:
    # Autoescaped, unlike the task templates: everything on the page comes from
    # repositories (names, reasons) and must not become markup.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(found: Collected, *, title: str = "abc-pipeline report") -> str:
    rows = found.tasks
    verified = sum(1 for r in rows if r.status == VERIFIED)
    summary = {
        "tasks": len(rows),
        "verified": verified,
        "rejected": len(rows) - verified,
        "rate": f"{100 * verified / len(rows):.0f}%" if rows else "-",
        "repositories": len({r.repository for r in rows if r.repository} | {r.full_name for r in found.repos}),
        "measured": sum(1 for r in rows if r.strength),
        "weak": sum(1 for r in rows if r.weak_stand_ins),
    }
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=title,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            summary=summary,
            charts=charts(found),
            tasks=rows,
            repos=found.repos,
            sources=found.sources,
        )
    )


def write_report(
    task_root: Path,
    out: Path,
    *,
    rejected_dir: Path | None = None,
    batch_reports: Iterable[Path] = (),
) -> Collected:
    found = collect(task_root, rejected_dir=rejected_dir, batch_reports=batch_reports)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_report(found, title=f"abc-pipeline report: {task_root.name or task_root}"))
    tmp.replace(out)
    return found
