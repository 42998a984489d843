"""The docs' verdict tables are generated from the committed verdicts.csv files
(rotelab.reproduction.docs), every paper has its page, and the docs' relative links resolve."""

import re
import shutil

import pandas as pd
from conftest import REPO

from rotelab.papers import PAPERS
from rotelab.reproduction.docs import NO_PAPER_RUN, generate, main, pages, render_page

DOCS = [REPO / "README.md", *sorted((REPO / "docs" / "papers").glob("*.md"))]


def test_the_docs_verdict_blocks_are_the_committed_runs():
    """The README's tables and each paper page's verdicts are what `python -m rotelab.reproduction.docs`
    renders from docs/default_run/verdicts.csv (and docs/paper_run/verdicts.csv where it exists):
    edit the run, then regenerate, never a table by hand."""
    expected = generate(REPO / "README.md", REPO / "docs" / "default_run" / "verdicts.csv", REPO / "docs" / "papers",
                        REPO / "docs" / "paper_run" / "verdicts.csv")
    assert len(expected) == 1 + len(pages())
    stale = [str(path.relative_to(REPO)) for path, text in expected.items() if path.read_text() != text]
    assert not stale, f"{stale} disagree with the committed verdicts.csv; run python -m rotelab.reproduction.docs"


def verdict_row(figure, paper, claim, effect, verdict, note="", paper_value=""):
    """One row of a verdicts.csv, its interval the effect plus or minus 1."""
    low, high = (None, None) if effect is None else (effect - 1, effect + 1)
    return {"figure": figure, "paper": paper, "claim": claim, "source": "Sec. 1", "paper_value": paper_value or None,
            "effect": effect, "ci_low": low, "ci_high": high, "n": 10, "null": 0.0, "margin": None,
            "verdict": verdict, "note": note or None}


def table_rows(text: str) -> list[list[str]]:
    """The cells of the markdown table in ``text``, header first, without the separator row."""
    rows = [line for line in text.splitlines() if line.startswith("|") and not line.startswith("|---")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def test_a_page_puts_the_paper_scale_run_beside_the_default_one():
    """Claims are matched on figure and claim whatever the order of the paper-scale rows; a claim
    only one run judged keeps empty cells for the other; other papers' claims stay out."""
    default = pd.DataFrame([
        verdict_row("fig1", "p", "A rises.", 2.0, "reproduces", paper_value="+3%"),
        verdict_row("fig1", "p", "B falls.", None, "not measurable", note="no events"),
        verdict_row("fig2", "p", "C rises.", 0.5, "inconclusive"),
        verdict_row("fig3", "other", "E rises.", 9.0, "reproduces"),
    ])
    paper_scale = pd.DataFrame([
        verdict_row("fig1", "p", "B falls.", -4.0, "reproduces"),
        verdict_row("fig1", "p", "A rises.", -3.0, "contradicts"),
        verdict_row("fig4", "p", "D only at paper scale.", 7.0, "reproduces", paper_value="x2"),
        verdict_row("fig3", "other", "E rises.", 9.0, "reproduces"),
    ])
    text = render_page(default, ["p"], paper_scale, sources=("d.csv", "p.csv"))
    assert "Default run ([d.csv](d.csv)): 3 claims: 1 reproduces, 1 inconclusive, 1 not measurable." in text
    assert "Paper-scale run ([p.csv](p.csv)): 3 claims: 2 reproduces, 1 contradicts." in text
    assert NO_PAPER_RUN not in text
    header, *rows = table_rows(text)
    assert header == ["figure", "claim", "paper's number", "default [95% interval]", "default verdict",
                      "paper scale [95% interval]", "paper-scale verdict"]
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
    """`python -m rotelab.reproduction.docs` rewrites every page from a paper-scale verdicts.csv when
    one exists, and leaves the README's default-run tables as they were."""
    shutil.copy(REPO / "README.md", tmp_path / "README.md")
    pages_dir = tmp_path / "docs" / "papers"
    shutil.copytree(REPO / "docs" / "papers", pages_dir)
    default = REPO / "docs" / "default_run" / "verdicts.csv"
    paper_scale = pd.read_csv(default, keep_default_na=False, na_values=[""])
    paper_scale["effect"] = paper_scale["effect"] + 1000
    paper_scale.to_csv(tmp_path / "paper.csv", index=False)
    args = ["--readme", str(tmp_path / "README.md"), "--verdicts", str(default), "--pages", str(pages_dir),
            "--paper-verdicts", str(tmp_path / "paper.csv")]
    main(args)
    assert (tmp_path / "README.md").read_text() == (REPO / "README.md").read_text()
    for doc in pages():
        text = (pages_dir / doc.split("/")[-1]).read_text()
        assert "paper-scale verdict" in text and NO_PAPER_RUN not in text, doc
    seqkd = (pages_dir / "seqkd.md").read_text()
    assert "| 101 [81.8, 121] | **reproduces** | 1.1e+03 [81.8, 121] | **reproduces** |" in seqkd
    main(args[:-2] + ["--paper-verdicts", str(tmp_path / "missing.csv")])
    assert NO_PAPER_RUN in (pages_dir / "seqkd.md").read_text()


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
    """Every relative link of the README and the paper pages names an existing file, and an
    anchor into a markdown file names one of its headings."""
    broken = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path, _, anchor = target.partition("#")
            resolved = (doc.parent / path).resolve()
            if not resolved.exists():
                broken.append(f"{doc.relative_to(REPO)}: {target}")
            elif anchor and resolved.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", resolved.read_text(), flags=re.MULTILINE)
                if anchor not in {slug(h) for h in headings}:
                    broken.append(f"{doc.relative_to(REPO)}: {target} (no such heading)")
    assert not broken, broken
