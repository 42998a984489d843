"""Verdict logic on synthetic tables: every outcome, for rates, differences of rates, slopes
and equalities."""

import math

import numpy as np
import pandas as pd
import pytest

from rotelab.core.stats import wilson_interval
from rotelab.reproduction.verdicts import (
    VERDICTS,
    Claim,
    Effect,
    difference,
    estimate,
    exact,
    judge,
    log_log_slope,
    rate_difference,
    verdict,
    verdict_table,
)


def rate_row(arm: str, k: int, n: int) -> dict:
    low, high = wilson_interval(k, n)
    return {"arm": arm, "value": k / n, "n": n, "ci_low": low, "ci_high": high}


def claim(effect, **kw) -> Claim:
    return Claim(figure="fig", paper="P0", statement="S exceeds B", source="Table 1", effect=effect, **kw)


@pytest.mark.parametrize(
    "counts, expected",
    [
        ((30, 100, 10, 100), "reproduces"),  # 30% vs 10%
        ((14, 100, 10, 100), "inconclusive"),  # the interval of 4 points spans 0
        ((5, 100, 25, 100), "contradicts"),  # clearly the other way
        ((0, 100, 0, 100), "not measurable"),  # no events in either arm
    ],
)
def test_difference_of_rates_reaches_every_verdict(counts, expected):
    k1, n1, k2, n2 = counts
    table = pd.DataFrame([rate_row("student", k1, n1), rate_row("baseline", k2, n2)])
    row = judge(claim(lambda t: rate_difference(t, {"arm": "student"}, {"arm": "baseline"})), table)
    assert row["verdict"] == expected
    if expected == "not measurable":
        assert "no events in either arm" in row["note"] and math.isnan(row["effect"])
    else:
        assert row["effect"] == pytest.approx(k1 / n1 - k2 / n2)
        assert row["ci_low"] < row["effect"] < row["ci_high"]


def test_rate_difference_interval_is_newcombes_hybrid_score_interval():
    # Newcombe (1998), Table II example (h): 56/70 vs 48/80 gives [0.0524, 0.3339] (method 10)
    table = pd.DataFrame([rate_row("a", 56, 70), rate_row("b", 48, 80)])
    effect = rate_difference(table, {"arm": "a"}, {"arm": "b"})
    assert effect.value == pytest.approx(0.2)
    assert (effect.ci_low, effect.ci_high) == pytest.approx((0.0524, 0.3339), abs=1e-4)


@pytest.mark.parametrize(
    "auc, low, high, expected",
    [
        (0.70, 0.62, 0.78, "reproduces"),
        (0.55, 0.45, 0.65, "inconclusive"),
        (0.30, 0.20, 0.40, "contradicts"),
        (math.nan, math.nan, math.nan, "not measurable"),
    ],
)
def test_a_rate_against_chance(auc, low, high, expected):
    table = pd.DataFrame([{"attack": "lira", "value": auc, "n": 200, "ci_low": low, "ci_high": high}])
    row = judge(claim(lambda t: estimate(t, attack="lira"), null=0.5), table)
    assert row["verdict"] == expected


def test_a_claim_of_a_decrease_is_oriented_by_its_direction():
    smaller = Effect(-0.2, -0.3, -0.1, 50)
    assert verdict(smaller, direction=-1) == "reproduces"
    assert verdict(smaller, direction=1) == "contradicts"
    # a ratio below 1, the null of a ratio
    assert verdict(Effect(0.6, 0.4, 0.9, 50), direction=-1, null=1.0) == "reproduces"


@pytest.mark.parametrize(
    "exponent, noise, expected",
    [
        (0.5, 0.02, "reproduces"),  # grows with N
        (0.0, 0.30, "inconclusive"),  # flat within noise
        (-0.5, 0.02, "contradicts"),  # shrinks with N
    ],
)
def test_slopes(exponent, noise, expected):
    rng = np.random.default_rng(0)
    x = np.array([16, 32, 64, 128, 256, 512])
    y = 3 * x**exponent * np.exp(rng.normal(0, noise, x.size))
    effect = log_log_slope(x, y)
    assert verdict(effect, direction=1) == expected
    if expected == "reproduces":
        assert effect.ci_low < 0.5 < effect.ci_high


def test_a_slope_needs_three_points():
    effect = log_log_slope([1, 2], [1, 4])
    assert verdict(effect, direction=1) == "not measurable" and "needs 3" in effect.note


@pytest.mark.parametrize(
    "gap, expected",
    [
        (3e-12, "reproduces"),  # float rounding: equal
        (0.5, "contradicts"),  # far outside the margin
    ],
)
def test_equality_within_the_papers_margin(gap, expected):
    effect = exact(gap, 50, "max |W_incremental - W_joint|")
    assert verdict(effect, direction=0, null=0.0, margin=1e-6) == expected


def test_equality_of_two_estimates_is_inconclusive_when_the_interval_straddles_the_margin():
    effect = difference(Effect(0.98, 0.96, 0.99, 300), Effect(0.97, 0.95, 0.985, 300))
    assert verdict(effect, direction=0, margin=0.01) == "inconclusive"
    assert verdict(effect, direction=0, margin=0.1) == "reproduces"


def test_two_sided_claims_reproduce_in_either_direction_and_never_contradict():
    assert verdict(Effect(0.4, 0.1, 0.7, 64), direction=None) == "reproduces"
    assert verdict(Effect(-0.4, -0.7, -0.1, 64), direction=None) == "reproduces"
    assert verdict(Effect(0.1, -0.2, 0.4, 64), direction=None) == "inconclusive"


def test_a_relative_change_with_an_empty_arm_is_not_measurable():
    from rotelab.reproduction.verdicts import change

    table = pd.DataFrame(
        [{"model": "s_vs_b", "metric": "exmem", "value": math.nan, "n": 0, "ci_low": math.nan, "ci_high": math.nan}]
    )
    effect = change(table, model="s_vs_b", metric="exmem")
    assert verdict(effect, direction=1) == "not measurable" and "no events" in effect.note


def test_claims_must_say_what_no_effect_is():
    with pytest.raises(ValueError, match="equality"):
        claim(lambda t: None, direction=0)
    with pytest.raises(ValueError, match="equality"):
        claim(lambda t: None, direction=1, margin=0.1)


def test_the_verdict_table_has_one_row_per_claim_and_says_why_a_claim_was_not_measured():
    table = pd.DataFrame([rate_row("student", 30, 100), rate_row("baseline", 10, 100)])
    claims = [
        claim(lambda t: rate_difference(t, {"arm": "student"}, {"arm": "baseline"}), paper_value="+20 pts"),
        claim(lambda t: estimate(t, arm="teacher")),
        Claim(figure="absent", paper="P1", statement="x", source="Fig. 2", effect=lambda t: None),
    ]
    verdicts = verdict_table(claims, {"fig": table})
    assert verdicts["verdict"].tolist() == ["reproduces", "not measurable", "not measurable"]
    assert verdicts["paper_value"].iloc[0] == "+20 pts"
    assert "0 rows with arm=teacher" in verdicts["note"].iloc[1]
    assert "figure absent was not made in this run" in verdicts["note"].iloc[2]


def test_every_figure_declares_claims_from_a_paper_of_the_map():
    from rotelab.figures.catalog import figures
    from rotelab.papers import PAPERS

    for name in figures.names():
        figure = figures.get(name)
        assert figure.paper in PAPERS and figure.claims, name
        for claim in figure.claims:
            assert claim.figure == name and claim.paper in PAPERS
            assert claim.statement.endswith(".") and claim.source


def test_claims_judge_the_committed_default_run_tables_without_error():
    """Every claim turns a real table (docs/default_run) into a verdict, never an exception."""
    from conftest import REPO

    from rotelab.figures.catalog import figures

    tables = {
        path.stem: pd.read_csv(path)
        for path in (REPO / "docs" / "default_run").rglob("*.csv")
        if path.stem in figures.names()
    }
    claims = [claim for name in figures.names() for claim in figures.get(name).claims]
    verdicts = verdict_table(claims, tables)
    assert len(verdicts) == len(claims) and set(verdicts["verdict"]) <= set(VERDICTS)
    unmeasured = verdicts[verdicts["verdict"] == "not measurable"]
    assert (unmeasured["note"].str.len() > 0).all()


def test_the_docs_verdicts_table_is_the_committed_runs():
    """docs/verdicts.md's table of every claim is generated from docs/default_run/verdicts.csv:
    edit the CSV's source run, then `python -m rotelab.reproduction.docs`, never the table by hand."""
    from conftest import REPO

    from rotelab.reproduction.docs import END, START, render

    committed = pd.read_csv(REPO / "docs" / "default_run" / "verdicts.csv", keep_default_na=False, na_values=[""])
    page = (REPO / "docs" / "verdicts.md").read_text()
    assert page.split(START, 1)[1].split(END, 1)[0].strip() == render(committed).strip()
    assert set(committed["verdict"]) <= set(VERDICTS)


@pytest.mark.parametrize(
    "counts, expected, explained",
    [
        ((30, 100, 10, 100), "reproduces", False),
        ((14, 100, 10, 100), "inconclusive", True),
        ((5, 100, 25, 100), "contradicts", True),
        ((0, 100, 0, 100), "not measurable", True),
    ],
)
def test_a_known_limit_explains_every_verdict_but_reproduces_and_changes_none(counts, expected, explained):
    from rotelab.reproduction.docs import _verdict
    from rotelab.reproduction.verdicts import LIMIT

    k1, n1, k2, n2 = counts
    table = pd.DataFrame([rate_row("student", k1, n1), rate_row("baseline", k2, n2)])
    effect = lambda t: rate_difference(t, {"arm": "student"}, {"arm": "baseline"})  # noqa: E731
    plain = judge(claim(effect), table)
    limited = judge(claim(effect, limit="B sees the canaries themselves."), table)
    assert limited["verdict"] == plain["verdict"] == expected
    assert (LIMIT in limited["note"]) is explained
    assert limited["note"].startswith(plain["note"].rstrip("."))
    shown = _verdict(limited["verdict"], limited["note"])
    assert ("B sees the canaries themselves." in shown) is explained
    assert "B sees" not in _verdict(limited["verdict"], limited["note"], limits=False)
