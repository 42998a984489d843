"""Parallel-corpus registry: each loader returns raw ``src``/``tgt`` pairs.

A corpus spec is either a registered name (``ding-en-de``, ``bible-en-es``) or a user file
``tsv:PATH`` / ``jsonl:PATH`` / ``parquet:PATH`` with ``src`` and ``tgt`` columns. Loaders
only read; cleaning, filtering and splitting happen in :mod:`rotelab.data.splits`.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd

from rotelab.core.registry import Registry
from rotelab.data.user_tables import FILE_FORMATS, CorpusError, read_user_table

corpora: Registry = Registry("corpus")

DING_PATH = Path("/usr/share/trans/de-en")
SWORD_MODULES = {"en": "engWEB2015eb", "es": "spaRV1909eb"}


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split ``'tsv:/a/b.tsv'`` into ``('tsv', '/a/b.tsv')``; a registered name has no path."""
    kind, sep, path = spec.partition(":")
    if sep and kind in FILE_FORMATS:
        if not path:
            raise CorpusError(f"corpus spec {spec!r} names no file")
        return kind, path
    return spec, None


def user_files(specs) -> list[str]:
    """The local files that source specs name (``tsv:PATH``, ``jsonl:PATH``, ``parquet:PATH``),
    in order. The rules that read them declare them as inputs, so that editing a file reruns
    what was prepared from it; registered names and ``hf:`` ids name no local file."""
    return [path for _, path in map(parse_spec, specs) if path is not None]


def load_corpus(spec: str) -> pd.DataFrame:
    kind, path = parse_spec(spec)
    loader = corpora.get(kind)
    df = loader(path) if path is not None else loader()
    return df[["src", "tgt"]].reset_index(drop=True)


# --- Debian trans-de-en (Ding) -------------------------------------------------------

_DING_ANNOTATION = re.compile(r"\{[^}]*\}|\[[^\]]*\]")


def ding_pairs(lines, reverse: bool = False):
    """Yield aligned (en, de) sub-entries of Ding lines ``de :: en``.

    Sub-entries are separated by `` | `` and aligned by position; of ``; ``-separated
    variants only the first is kept so that one source maps to one reference.
    Grammatical annotations in braces/brackets are dropped.
    """
    for line in lines:
        if not line.strip() or line.startswith("#") or " :: " not in line:
            continue
        de_side, en_side = line.rstrip("\n").split(" :: ", 1)
        de_entries, en_entries = de_side.split(" | "), en_side.split(" | ")
        if len(de_entries) != len(en_entries):
            continue
        for de, en in zip(de_entries, en_entries):
            de = _DING_ANNOTATION.sub("", de.split("; ")[0]).strip()
            en = _DING_ANNOTATION.sub("", en.split("; ")[0]).strip()
            if de and en:
                yield (de, en) if reverse else (en, de)


def _read_ding(path: str | None) -> list[tuple[str, str]]:
    file = Path(path) if path else DING_PATH
    if not file.exists():
        raise CorpusError(f"{file} not found: install the Debian package trans-de-en")
    with open(file, encoding="utf-8", errors="replace") as fh:
        return list(ding_pairs(fh))


@corpora.register("ding-en-de")
def load_ding(path: str | None = None) -> pd.DataFrame:
    """English -> German sentence pairs from the Ding dictionary (Debian ``trans-de-en``).

    Only sentence-like pairs (both sides end in ``.``, ``?`` or ``!``) are kept; the
    dictionary's phrase entries are not translations a model should be scored on.
    """
    rows = [(en, de) for en, de in _read_ding(path) if en[-1] in ".?!" and de[-1] in ".?!"]
    return pd.DataFrame(rows, columns=["src", "tgt"])


@corpora.register("ding-en-de-phrases")
def load_ding_phrases(path: str | None = None) -> pd.DataFrame:
    """Every aligned English -> German sub-entry of the Ding dictionary, phrases included
    (about 132k pairs of 3+ words): the largest offline corpus, for GPU-scale runs."""
    return pd.DataFrame(_read_ding(path), columns=["src", "tgt"])


# --- Debian SWORD Bibles (WEB English, Reina-Valera Spanish) -------------------------

_NOTE = re.compile(r"<note\b.*?</note>", re.S)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def parse_imp(text: str) -> dict[str, str]:
    """Verses of a ``mod2imp`` export keyed by reference, with OSIS markup stripped."""
    verses: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line.startswith("$$$"):
            key = line[3:].strip()
            continue
        if key is None or key.endswith(":0") or key.startswith("["):
            continue
        clean = _SPACE.sub(" ", _TAG.sub("", _NOTE.sub(" ", line))).strip()
        if clean:
            verses[key] = (verses.get(key, "") + " " + clean).strip()
    return verses


def export_sword_module(module: str) -> str:
    try:
        # Fixed module names only: nothing from config reaches this argument list.
        out = subprocess.run(["mod2imp", module], capture_output=True, text=True, check=True)
    except FileNotFoundError as exc:
        raise CorpusError("mod2imp not found: install the Debian package libsword-utils") from exc
    except subprocess.CalledProcessError as exc:
        raise CorpusError(f"mod2imp {module} failed: install sword-text modules") from exc
    if not out.stdout.strip():
        raise CorpusError(f"SWORD module {module} is empty or not installed")
    return out.stdout


@corpora.register("bible-en-es")
def load_bible() -> pd.DataFrame:
    """Verse-aligned English (WEB) -> Spanish (Reina-Valera 1909) pairs from SWORD."""
    en = parse_imp(export_sword_module(SWORD_MODULES["en"]))
    es = parse_imp(export_sword_module(SWORD_MODULES["es"]))
    rows = [(en[k], es[k]) for k in en if k in es]
    return pd.DataFrame(rows, columns=["src", "tgt"])


# --- user files ------------------------------------------------------------------------
# Read by rotelab.data.user_tables: errors name the file and line; a TSV's header line
# (src and tgt, either order) is optional.


@corpora.register("tsv")
def load_tsv(path: str) -> pd.DataFrame:
    """Two tab-separated columns, src then tgt, or in the order a ``src``/``tgt`` header says."""
    return read_user_table(path, "tsv", ["src", "tgt"], header_optional=True)


@corpora.register("jsonl")
def load_jsonl(path: str) -> pd.DataFrame:
    """One JSON object per line with string fields ``src`` and ``tgt``."""
    return read_user_table(path, "jsonl", ["src", "tgt"])


@corpora.register("parquet")
def load_parquet_corpus(path: str) -> pd.DataFrame:
    """A Parquet table with string columns ``src`` and ``tgt`` (other columns ignored)."""
    return read_user_table(path, "parquet", ["src", "tgt"])
