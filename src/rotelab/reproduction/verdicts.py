"""Reproduction verdicts: a paper's claim, tested on one figure's tidy table.

A claim states an effect the way its paper does (with where in the paper it comes from) and
says how to measure that effect on the figure's table: one estimate against a value of no
effect (a rate above chance), a difference of two estimates, a slope, or an equality within
a margin the paper gives. :func:`judge` turns the measured effect and its 95% interval into
one of four verdicts:

- ``reproduces``: the paper's direction, and the interval excludes no effect;
- ``inconclusive``: the interval includes no effect;
- ``contradicts``: the opposite direction, and the interval excludes no effect;
- ``not measurable``: no effect can be estimated (e.g. no events in either arm); the
  effect's note says why.

Equality claims (the paper: "A equals B") reproduce when the whole interval lies within the
margin, contradict when it lies wholly outside, and are inconclusive otherwise. Two-sided
claims (the paper: "A differs from B", no direction) reproduce when the interval excludes no
effect and are otherwise inconclusive; nothing can contradict them but an equality.

Nothing here knows a figure: claims are data, effects are pure functions of a table, so the
logic is tested on synthetic tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

VERDICTS = ("reproduces", "inconclusive", "contradicts", "not measurable")
# Separates a verdict's note (how the effect was measured) from its claim's known limit.
LIMIT = " Known limit of the default regime: "
Z95 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class Effect:
    """A measured effect with its 95% interval; ``note`` says how it was measured, or why
    it could not be (then ``value`` is NaN)."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    note: str = ""

    @property
    def measurable(self) -> bool:
        return all(math.isfinite(v) for v in (self.value, self.ci_low, self.ci_high)) and self.n > 0


def not_measurable(reason: str, n: int = 0) -> Effect:
    return Effect(math.nan, math.nan, math.nan, n, reason)


@dataclass(frozen=True)
class Claim:
    """One claim of a paper about one figure.

    paper: the paper's short name in the papers map (``rotelab.papers``).
    statement: the claim in one sentence, as the paper makes it.
    source: where in the paper (table, figure or section).
    effect: measures the claimed effect on the figure's table.
    direction: +1 the paper's effect is above ``null``, -1 below, 0 an equality, None a
        difference in either direction.
    null: the value of no effect (0 for a difference, 0.5 for an AUC, 1 for a ratio), or the
        paper's minimum effect where it states one.
    margin: equality claims only: how far from ``null`` still counts as equal, from the paper.
    paper_value: the paper's own number, as the paper gives it ('' where it gives none).
    figure: the registered figure whose tidy table the claim is tested on (the figure's
        declaration fills it in).
    limit: why the default regime cannot show this claim, from that regime's calibration
        runs (with the doc page that records them): appended to the verdict's note, after
        ``LIMIT``, whenever the verdict is not ``reproduces``. It explains a verdict and never
        changes one; '' where no calibration found a reason.
    """

    paper: str
    statement: str
    source: str
    effect: Callable[[pd.DataFrame], Effect]
    direction: int | None = 1
    null: float = 0.0
    margin: float | None = None
    paper_value: str = ""
    figure: str = ""
    limit: str = ""

    def __post_init__(self):
        if self.direction not in (-1, 0, 1, None):
            raise ValueError(f"claim {self.statement!r}: direction must be -1, 0, 1 or None")
        if (self.direction == 0) != (self.margin is not None):
            raise ValueError(
                f"claim {self.statement!r}: an equality (direction 0) needs a margin, and only an equality has one"
            )


def verdict(effect: Effect, direction: int | None, null: float = 0.0, margin: float | None = None) -> str:
    """The verdict of one measured effect (see the module docstring)."""
    if not effect.measurable:
        return "not measurable"
    if direction is None:
        return "reproduces" if effect.ci_low > null or effect.ci_high < null else "inconclusive"
    if direction == 0:
        low, high = null - margin, null + margin
        if low <= effect.ci_low and effect.ci_high <= high:
            return "reproduces"
        if effect.ci_low > high or effect.ci_high < low:
            return "contradicts"
        return "inconclusive"
    # Orient the interval so that the paper's direction is "above null".
    low, high = sorted((direction * (effect.ci_low - null), direction * (effect.ci_high - null)))
    if low > 0:
        return "reproduces"
    if high < 0:
        return "contradicts"
    return "inconclusive"


def judge(claim: Claim, table: pd.DataFrame | None) -> dict:
    """One row of ``verdicts.csv``: the claim, the paper's number, ours with its interval,
    and the verdict (not measurable where the run made no such table, or the table lacks
    the rows the claim reads); the note adds the claim's known limit unless it reproduces."""
    if table is None:
        effect = not_measurable(f"figure {claim.figure} was not made in this run")
    else:
        try:
            effect = claim.effect(table)
        except LookupError as exc:
            effect = not_measurable(f"the table lacks the rows this claim reads ({exc})")
    judged = verdict(effect, claim.direction, claim.null, claim.margin)
    note = effect.note
    if claim.limit and judged != "reproduces":
        note = note.rstrip(".") + "." + LIMIT + claim.limit
    return {
        "figure": claim.figure,
        "paper": claim.paper,
        "claim": claim.statement,
        "source": claim.source,
        "paper_value": claim.paper_value,
        "effect": effect.value,
        "ci_low": effect.ci_low,
        "ci_high": effect.ci_high,
        "n": effect.n,
        "null": claim.null,
        "margin": claim.margin,
        "verdict": judged,
        "note": note,
    }


# ---- effects over tidy tables ------------------------------------------------------------


def row(table: pd.DataFrame, **where) -> pd.Series:
    """The one row of ``table`` whose columns equal ``where``; KeyError naming the
    selection when there is none or more than one."""
    mask = np.ones(len(table), dtype=bool)
    for column, value in where.items():
        mask &= (table[column] == value).to_numpy()
    found = table[mask]
    if len(found) != 1:
        raise KeyError(f"{len(found)} rows with {describe(where)}")
    return found.iloc[0]


def estimate(table: pd.DataFrame, **where) -> Effect:
    """One row's value and interval: a rate or AUC against a fixed null."""
    r = row(table, **where)
    return Effect(float(r["value"]), float(r["ci_low"]), float(r["ci_high"]), int(r["n"]), describe(where))


def describe(where: dict) -> str:
    """``where`` as a reader writes it: ``model=student, metric=bleu``."""
    return ", ".join(
        f"{key}={value.item() if isinstance(value, np.generic) else value}" for key, value in where.items()
    )


def change(table: pd.DataFrame, **where) -> Effect:
    """A relative-change row (percent, Katz interval: ``stats.relative_change``), which is
    undefined when either arm has no events."""
    effect = estimate(table, **where)
    if not effect.measurable:
        return not_measurable(f"relative change undefined: an arm has no events ({describe(where)})", effect.n)
    return effect


def difference(a: Effect, b: Effect) -> Effect:
    """a - b with the MOVER interval (Zou & Donner 2008) from each estimate's own interval;
    with Wilson intervals for two proportions this is Newcombe's (1998) hybrid score
    interval, method 10. The estimates must be independent (different models or runs)."""
    if not (a.measurable and b.measurable):
        missing = "; ".join(
            f"no estimate for {e.note}" + (" (n = 0)" if e.n == 0 else "") for e in (a, b) if not e.measurable
        )
        return not_measurable(missing, min(a.n, b.n))
    d = a.value - b.value
    low = d - math.sqrt((a.value - a.ci_low) ** 2 + (b.ci_high - b.value) ** 2)
    high = d + math.sqrt((a.ci_high - a.value) ** 2 + (b.value - b.ci_low) ** 2)
    return Effect(d, low, high, min(a.n, b.n), f"({a.note}) - ({b.note})")


def rate_difference(table: pd.DataFrame, a: dict, b: dict) -> Effect:
    """Difference of two rates, each row a Wilson-interval proportion; not measurable when
    neither arm has an event (0 - 0 says nothing about the direction)."""
    first, second = estimate(table, **a), estimate(table, **b)
    if first.value == 0 and second.value == 0:
        return not_measurable(f"no events in either arm ({describe(a)}; {describe(b)})", min(first.n, second.n))
    return difference(first, second)


def log_log_slope(x, y) -> Effect:
    """The exponent of y ~ x^k: least-squares slope of log y on log x with its t interval."""
    from scipy import stats

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = (x > 0) & (y > 0)
    if keep.sum() < 3:
        return not_measurable(f"{int(keep.sum())} positive points; a slope with an interval needs 3", int(keep.sum()))
    fit = stats.linregress(np.log(x[keep]), np.log(y[keep]))
    half = stats.t.ppf(0.975, keep.sum() - 2) * fit.stderr
    return Effect(
        float(fit.slope),
        float(fit.slope - half),
        float(fit.slope + half),
        int(keep.sum()),
        "least-squares slope of log y on log x",
    )


def exact(value: float, n: int, note: str) -> Effect:
    """A number with no sampling error (e.g. a deterministic float comparison): its interval
    is the number itself."""
    return Effect(float(value), float(value), float(value), n, note)


def verdict_table(claims: list[Claim], tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``verdicts.csv``: one row per claim, judged on its figure's table."""
    return pd.DataFrame([judge(claim, tables.get(claim.figure)) for claim in claims])


def summary_line(verdicts: pd.DataFrame, report: str) -> str:
    """The line ``make reproduce`` ends with: claims per verdict and where the report is."""
    counts = verdicts["verdict"].value_counts()
    parts = ", ".join(f"{int(counts.get(v, 0))} {v}" for v in VERDICTS)
    return f"{len(verdicts)} claims: {parts}. Report: {report}"


VERDICT_COLOURS = {
    "reproduces": "#1a9850",
    "inconclusive": "#fee08b",
    "contradicts": "#d73027",
    "not measurable": "#bdbdbd",
}


def reproduction_page(verdicts: pd.DataFrame) -> str:
    """A self-contained HTML page of ``verdicts.csv`` for the report: per claim the figure, the
    paper, the claim and its source, the paper's number, ours with its interval, and the
    verdict in its colour; the counts per verdict on top."""
    from html import escape

    def number(v) -> str:
        return "" if pd.isna(v) else f"{v:.3g}"

    counts = verdicts["verdict"].value_counts()
    summary = " &middot; ".join(
        f'<span style="background:{VERDICT_COLOURS[v]};padding:1px 6px">{int(counts.get(v, 0))} {v}</span>'
        for v in VERDICTS
    )
    rows = []
    for r in verdicts.itertuples():
        ours = "" if pd.isna(r.effect) else f"{number(r.effect)} [{number(r.ci_low)}, {number(r.ci_high)}]"
        rows.append(
            f"<tr><td>{escape(r.figure)}</td><td>{escape(r.paper)}</td>"
            f"<td>{escape(r.claim)}<br><small>{escape(r.source)}</small></td>"
            f"<td>{escape(str(r.paper_value or ''))}</td><td>{ours}</td>"
            f'<td class="verdict" style="background:{VERDICT_COLOURS[r.verdict]}">{escape(r.verdict)}</td>'
            f"<td><small>{escape(str(r.note or ''))}</small></td></tr>"
        )
    header = "".join(
        f"<th>{h}</th>"
        for h in ("figure", "paper", "claim (source)", "paper's number", "ours [95% interval]", "verdict", "note")
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Reproduction</title><style>"
        "body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}</style></head><body>"
        f"<h2>Reproduction</h2><p>{len(verdicts)} claims: {summary}</p>"
        f"<table><tr>{header}</tr>{''.join(rows)}</table></body></html>"
    )


if __name__ == "__main__":
    import sys

    print(summary_line(pd.read_csv(sys.argv[1]), sys.argv[2]))
