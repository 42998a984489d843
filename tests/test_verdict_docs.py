"""The docs' verdict tables are generated from the committed verdicts.csv files
(rotelab.reproduction.docs), every paper has its page, and the docs' relative links resolve."""

import re
import shutil

import pandas as pd
from conftest import REPO

from rotelab.papers import PAPERS
from rotelab.reproduction.docs import (
    NO_PAPER_RUN,
    NO_PAPER_RUN_YET,
    NOT_IN_RUN,
    generate,
    main,
    pages,
    render_figures,
    render_page,
)

DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def test_the_docs_verdict_blocks_are_the_committed_runs():
    """The README's headline and papers tables, docs/verdicts.md's table of every claim and each
    paper page's verdicts are what `python -m rotelab.reproduction.docs` renders from
    docs/default_run/verdicts.csv (and docs/paper_run/verdicts.csv where it exists): edit the
    run, then regenerate, never a table by hand."""
    expected = generate(
        REPO / "README.md",
        REPO / "docs" / "default_run" / "verdicts.csv",
        REPO / "docs" / "papers",
        REPO / "docs" / "paper_run" / "verdicts.csv",
        REPO / "docs" / "verdicts.md",
    )
    assert set(expected) == {
        REPO / "README.md",
        REPO / "docs" / "verdicts.md",
        *(REPO / "docs" / "papers" / doc.split("/")[-1] for doc in pages()),
    }
    stale = [str(path.relative_to(REPO)) for path, text in expected.items() if path.read_text() != text]
    assert not stale, f"{stale} disagree with the committed verdicts.csv; run python -m rotelab.reproduction.docs"


def test_the_readme_has_one_headline_line_per_figure_and_no_claims_table():
    """The README's headline table has one row per figure of the default run; the table of every
    claim lives on docs/verdicts.md, not in the README."""
    from rotelab.reproduction.docs import END, FIGURES_END, FIGURES_START, START

    readme = (REPO / "README.md").read_text()
    assert START not in readme and END not in readme
    claims_page = (REPO / "docs" / "verdicts.md").read_text()
    assert START in claims_page and END in claims_page
    default = pd.read_csv(REPO / "docs" / "default_run" / "verdicts.csv", keep_default_na=False, na_values=[""])
    header, *rows = table_rows(readme.split(FIGURES_START, 1)[1].split(FIGURES_END, 1)[0])
    assert header == ["figure", "paper", "default scale", "paper scale"]
    assert [row[0].strip("`") for row in rows] == list(dict.fromkeys(default["figure"]))


def verdict_row(figure, paper, claim, effect, verdict, note="", paper_value=""):
    """One row of a verdicts.csv, its interval the effect plus or minus 1."""
    low, high = (None, None) if effect is None else (effect - 1, effect + 1)
    return {
        "figure": figure,
        "paper": paper,
        "claim": claim,
        "source": "Sec. 1",
        "paper_value": paper_value or None,
        "effect": effect,
        "ci_low": low,
        "ci_high": high,
        "n": 10,
        "null": 0.0,
        "margin": None,
        "verdict": verdict,
        "note": note or None,
    }


def table_rows(text: str) -> list[list[str]]:
    """The cells of the markdown table in ``text``, header first, without the separator row."""
    rows = [line for line in text.splitlines() if line.startswith("|") and not line.startswith("|---")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def test_a_page_puts_the_paper_scale_run_beside_the_default_one():
    """Claims are matched on figure and claim whatever the order of the paper-scale rows; a claim
    only one run judged keeps empty cells for the other; other papers' claims stay out."""
    default = pd.DataFrame(
        [
            verdict_row("fig1", "p", "A rises.", 2.0, "reproduces", paper_value="+3%"),
            verdict_row("fig1", "p", "B falls.", None, "not measurable", note="no events"),
            verdict_row("fig2", "p", "C rises.", 0.5, "inconclusive"),
            verdict_row("fig3", "other", "E rises.", 9.0, "reproduces"),
        ]
    )
    paper_scale = pd.DataFrame(
        [
            verdict_row("fig1", "p", "B falls.", -4.0, "reproduces"),
            verdict_row("fig1", "p", "A rises.", -3.0, "contradicts"),
            verdict_row("fig4", "p", "D only at paper scale.", 7.0, "reproduces", paper_value="x2"),
            verdict_row("fig3", "other", "E rises.", 9.0, "reproduces"),
        ]
    )
    text = render_page(default, ["p"], paper_scale, sources=("d.csv", "p.csv"))
    assert "Default run ([d.csv](d.csv)): 3 claims: 1 reproduces, 1 inconclusive, 1 not measurable." in text
    assert "Paper-scale run ([p.csv](p.csv)): 3 claims: 2 reproduces, 1 contradicts." in text
    assert NO_PAPER_RUN not in text
    header, *rows = table_rows(text)
    assert header == [
        "figure",
        "claim",
        "paper's number",
        "default [95% interval]",
        "default verdict",
        "paper scale [95% interval]",
        "paper-scale verdict",
    ]
    assert rows == [
        ["fig1", "A rises.", "+3%", "2 [1, 3]", "**reproduces**", "-3 [-4, -2]", "**contradicts**"],
        ["fig1", "B falls.", "", "", "**not measurable** (no events)", "-4 [-5, -3]", "**reproduces**"],
        ["fig2", "C rises.", "", "0.5 [-0.5, 1.5]", "**inconclusive**", "", ""],
        ["fig4", "D only at paper scale.", "x2", "", "", "7 [6, 8]", "**reproduces**"],
    ]

    alone = render_page(default, ["p"], None, sources=("d.csv", None))
    assert NO_PAPER_RUN in alone
    header, *rows = table_rows(alone)
    assert header == ["figure", "claim", "paper's number", "ours [95% interval]", "verdict"]
    assert [row[:2] for row in rows] == [["fig1", "A rises."], ["fig1", "B falls."], ["fig2", "C rises."]]

    both = render_page(default, ["p", "other"], paper_scale, sources=("d.csv", "p.csv"))
    assert table_rows(both)[0][:3] == ["figure", "paper", "claim"] and len(table_rows(both)) == 6


def test_the_command_adds_the_paper_scale_columns_once_that_run_is_committed(tmp_path):
    """`python -m rotelab.reproduction.docs` rewrites every page and the README's headline table from
    a paper-scale verdicts.csv when one exists, and leaves the README's papers table and
    docs/verdicts.md (default run only) as they were."""
    from rotelab.reproduction.docs import FIGURES_END, FIGURES_START, PAPERS_END, PAPERS_START

    shutil.copy(REPO / "README.md", tmp_path / "README.md")
    (tmp_path / "docs" / "default_run").mkdir(parents=True)
    shutil.copy(REPO / "docs" / "verdicts.md", tmp_path / "docs" / "verdicts.md")
    default = tmp_path / "docs" / "default_run" / "verdicts.csv"
    shutil.copy(REPO / "docs" / "default_run" / "verdicts.csv", default)
    pages_dir = tmp_path / "docs" / "papers"
    shutil.copytree(REPO / "docs" / "papers", pages_dir)
    paper_scale = pd.read_csv(default, keep_default_na=False, na_values=[""])
    paper_scale["effect"] = paper_scale["effect"] + 1000
    paper_scale.to_csv(tmp_path / "paper.csv", index=False)
    args = [
        "--readme",
        str(tmp_path / "README.md"),
        "--verdicts",
        str(default),
        "--pages",
        str(pages_dir),
        "--claims-page",
        str(tmp_path / "docs" / "verdicts.md"),
        "--paper-verdicts",
        str(tmp_path / "paper.csv"),
    ]
    main(args)
    assert (tmp_path / "docs" / "verdicts.md").read_text() == (REPO / "docs" / "verdicts.md").read_text()
    for doc in pages():
        text = (pages_dir / doc.split("/")[-1]).read_text()
        assert "paper-scale verdict" in text and NO_PAPER_RUN not in text, doc
    seqkd = (pages_dir / "seqkd.md").read_text()
    # a claim's row holds both runs' effects, 3 significant digits, the interval beside each
    row = paper_scale[paper_scale["claim"].str.startswith("Students produce more oscillatory")].iloc[0]
    ours = f"{row.effect - 1000:.3g} [{row.ci_low:.3g}, {row.ci_high:.3g}]"
    theirs = f"{row.effect:.3g} [{row.ci_low:.3g}, {row.ci_high:.3g}]"
    assert f"| {ours} | **{row.verdict}** | {theirs} | **{row.verdict}** |" in seqkd

    def block(path, start, end):
        return path.read_text().split(start, 1)[1].split(end, 1)[0]

    readme = tmp_path / "README.md"
    assert block(readme, PAPERS_START, PAPERS_END) == block(REPO / "README.md", PAPERS_START, PAPERS_END)
    headline = block(readme, FIGURES_START, FIGURES_END)
    assert f"Paper-scale run ([paper.csv](paper.csv)): {len(paper_scale)} claims:" in headline
    _, *rows = table_rows(headline)
    assert rows and all(row[3] == row[2] != NO_PAPER_RUN_YET for row in rows)  # same verdicts, other effects
    # a figure with claims of two papers links both pages and counts its claims' verdicts
    expected = paper_scale.loc[paper_scale["figure"] == "canary_mia", "verdict"].value_counts()
    order = ("reproduces", "inconclusive", "contradicts", "not measurable")  # ties: the verdicts' order
    counts = ", ".join(
        f"{n} {verdict}" for verdict, n in sorted(expected.items(), key=lambda kv: (-kv[1], order.index(kv[0])))
    )
    assert (
        "| `canary_mia` | [P3](docs/papers/seqkd.md), [secret_sharer](docs/papers/membership.md) | "
        f"{counts} | {counts} |" in headline
    )

    main(args[:-2] + ["--paper-verdicts", str(tmp_path / "missing.csv")])
    assert NO_PAPER_RUN in (pages_dir / "seqkd.md").read_text()
    assert readme.read_text() == (REPO / "README.md").read_text()


def test_the_headline_table_summarises_each_figure_at_both_scales():
    """One row per figure: its one claim's verdict, or the count per verdict; the paper-scale
    column says "no run yet" without a paper-scale table, and marks a figure that run did not
    judge; a figure only the paper-scale run judged comes last."""
    default = pd.DataFrame(
        [
            verdict_row("fig1", "seqkd", "A rises.", 2.0, "reproduces"),
            verdict_row("fig1", "seqkd", "B falls.", None, "not measurable", note="no events"),
            verdict_row("fig1", "secret_sharer", "C rises.", 0.5, "inconclusive"),
            verdict_row("fig1", "seqkd", "D rises.", 3.0, "reproduces"),
            verdict_row("fig2", "acil", "E holds.", 0.0, "reproduces"),
            verdict_row("fig3", "mystery", "F rises.", 1.0, "contradicts"),
        ]
    )
    paper_scale = pd.DataFrame(
        [
            verdict_row("fig1", "seqkd", "A rises.", 2.0, "reproduces"),
            verdict_row("fig4", "dsm", "G rises.", 2.0, "inconclusive"),
        ]
    )
    alone = render_figures(default, None, "/repo", "/repo/docs/papers", sources=("d.csv", ""))
    assert (
        "Default run ([d.csv](d.csv)): 6 claims: 3 reproduces, 1 inconclusive, 1 contradicts, 1 not measurable."
        in alone
    )
    header, *rows = table_rows(alone)
    assert header == ["figure", "paper", "default scale", "paper scale"]
    assert rows == [
        [
            "`fig1`",
            "[P3](docs/papers/seqkd.md), [secret_sharer](docs/papers/membership.md)",
            "2 reproduces, 1 inconclusive, 1 not measurable",
            NO_PAPER_RUN_YET,
        ],
        ["`fig2`", "[P7](docs/papers/acil.md)", "reproduces", NO_PAPER_RUN_YET],
        ["`fig3`", "mystery", "contradicts", NO_PAPER_RUN_YET],
    ]

    both = render_figures(default, paper_scale, "/repo", "/repo/docs/papers", sources=("d.csv", "p.csv"))
    assert "Paper-scale run ([p.csv](p.csv)): 2 claims: 1 reproduces, 1 inconclusive." in both
    assert [[row[0], row[2], row[3]] for row in table_rows(both)[1:]] == [
        ["`fig1`", "2 reproduces, 1 inconclusive, 1 not measurable", "reproduces"],
        ["`fig2`", "reproduces", NOT_IN_RUN],
        ["`fig3`", "contradicts", NOT_IN_RUN],
        ["`fig4`", NOT_IN_RUN, "inconclusive"],
    ]


def test_every_paper_has_its_page_opening_with_its_citation():
    for name, paper in PAPERS.items():
        page = REPO / paper.doc
        assert page.exists(), f"{name}: {paper.doc} is missing"
        head = " ".join(page.read_text().split("<!--", 1)[0].split())
        assert paper.citation in head and f"https://arxiv.org/abs/{paper.arxiv}" in head, name
        if paper.code:
            assert page.read_text().splitlines()[0] == f"# {paper.title} ({paper.code})", name


def slug(heading: str) -> str:
    """GitHub's anchor for a markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_relative_links_in_the_docs_resolve():
    """Every relative link of the README and of every markdown file under docs/ names an
    existing file, and an anchor (into another file or the same one) names one of its headings."""
    broken = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            resolved = (doc.parent / path).resolve() if path else doc
            if not resolved.exists():
                broken.append(f"{doc.relative_to(REPO)}: {target}")
            elif anchor and resolved.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", resolved.read_text(), flags=re.MULTILINE)
                if anchor not in {slug(h) for h in headings}:
                    broken.append(f"{doc.relative_to(REPO)}: {target} (no such heading)")
    assert not broken, broken
