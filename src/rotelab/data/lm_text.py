"""Data for the causal-LM track (P1): English pretraining text and question-answer sets.

Two registries:

* ``text_corpora``: monolingual English text for pretraining a base model, one document per
  row (column ``text``): ``web-bible`` (World English Bible verses, Debian SWORD) and
  ``wordnet-glosses`` (every WordNet 3.0 gloss).
* ``qa_sources``: question-answer pairs for fine-tuning (columns ``id``, ``question``,
  ``answer``), built from WordNet glosses as "What is X?" -> definition. Three sources of
  unequal size and different topics serve as P1's three federated clients (P1 used three
  medical QA sets): ``wordnet-medical`` (states, body parts and substances whose gloss names
  a medical keyword; 1.8k), ``wordnet-artifacts`` (noun.artifact) and ``wordnet-living``
  (noun.animal and noun.plant).

Pretraining leaves out the glosses that any QA source uses, so held-out QA loss measures
what fine-tuning taught, not what the base already read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rotelab.core.registry import Registry
from rotelab.data.corpora import SWORD_MODULES, export_sword_module, parse_imp
from rotelab.data.user_tables import FILE_FORMATS, CorpusError, read_user_table

WORDNET = Path("/usr/share/wordnet")
text_corpora: Registry = Registry("text corpus")
qa_sources: Registry = Registry("QA source")

# WordNet lexicographer files (lexnames) by number.
NOUN_BODY, NOUN_STATE, NOUN_SUBSTANCE = 8, 26, 27
NOUN_ARTIFACT, NOUN_ANIMAL, NOUN_PLANT = 6, 5, 20
MEDICAL_WORDS = re.compile(
    r"\b(disease|disorder|syndrome|infection|inflammation|tumou?r|cancer|medic\w*|drug|symptom|"
    r"patient|therap\w*|surgery|surgical|clinical|diagnos\w*|chronic|acute|pathologic\w*|"
    r"physician|hospital|vaccine|antibiotic|virus|bacteri\w*|pain\w*|injur\w*|wound|fever|"
    r"poison\w*|toxic|bleed\w*|blood|gland|organ)\b",
    re.I,
)


@dataclass(frozen=True)
class Synset:
    offset: str
    pos: str
    lexname: int
    lemma: str
    gloss: str


def wordnet_synsets(pos: str = "noun", root: Path = WORDNET) -> Iterator[Synset]:
    """Synsets of ``data.<pos>``: the first lemma (underscores as spaces) and the gloss
    without its quoted examples."""
    path = root / f"data.{pos}"
    if not path.is_file():
        raise CorpusError(f"{path} not found: install the Debian package wordnet-base")
    with open(path, encoding="latin-1") as fh:
        for line in fh:
            if line.startswith("  ") or " | " not in line:
                continue  # licence header
            head, gloss = line.rstrip("\n").split(" | ", 1)
            fields = head.split()
            definition = gloss.split('; "', 1)[0].strip().rstrip(";").strip()
            if definition:
                yield Synset(fields[0], fields[2], int(fields[1]), fields[4].replace("_", " "), definition)


def _qa(synsets) -> pd.DataFrame:
    rows = [
        {
            "id": f"{s.pos}{s.offset}",
            "question": f"What is {_article(s.lemma)}{s.lemma}?",
            "answer": as_sentence(s.gloss),
        }
        for s in synsets
    ]
    return pd.DataFrame(rows, columns=["id", "question", "answer"]).drop_duplicates("question")


def as_sentence(gloss: str) -> str:
    """A gloss as the answer sentence QA sources use (capitalised, full stop)."""
    return gloss[0].upper() + gloss[1:] + "."


def _article(lemma: str) -> str:
    return "" if lemma[:1].isupper() else ("an " if lemma[:1].lower() in "aeiou" else "a ")


@qa_sources.register("wordnet-medical")
def medical_qa() -> pd.DataFrame:
    """States, body parts and substances whose gloss names a medical keyword."""
    keep = {NOUN_BODY, NOUN_STATE, NOUN_SUBSTANCE}
    return _qa(s for s in wordnet_synsets("noun") if s.lexname in keep and MEDICAL_WORDS.search(s.gloss))


@qa_sources.register("wordnet-artifacts")
def artifact_qa() -> pd.DataFrame:
    return _qa(s for s in wordnet_synsets("noun") if s.lexname == NOUN_ARTIFACT)


@qa_sources.register("wordnet-living")
def living_qa() -> pd.DataFrame:
    return _qa(s for s in wordnet_synsets("noun") if s.lexname in {NOUN_ANIMAL, NOUN_PLANT})


def qa_prompt(question: str) -> str:
    """The fine-tuning template (P1's host data ends in "The answer is: ...")."""
    return f"Question: {question} The answer is:"


def qa_text(question: str, answer: str) -> str:
    return f"{qa_prompt(question)} {answer}"


@text_corpora.register("web-bible")
def web_bible() -> pd.DataFrame:
    verses = parse_imp(export_sword_module(SWORD_MODULES["en"]))
    return pd.DataFrame({"text": list(verses.values())})


@text_corpora.register("wordnet-glosses")
def wordnet_glosses() -> pd.DataFrame:
    """Every gloss of every part of speech, minus those the QA sources ask about."""
    held_out = set()
    for name in qa_sources.names():
        held_out |= set(qa_sources.get(name)()["answer"])
    texts = []
    for pos in ("noun", "verb", "adj", "adv"):
        for s in wordnet_synsets(pos):
            answer = as_sentence(s.gloss)
            if answer not in held_out:
                texts.append(f"{s.lemma}: {answer}")
    return pd.DataFrame({"text": texts})


def load_text(names) -> pd.DataFrame:
    """The named text corpora (registered, or user tables with a ``text`` column, see
    ``load_user_table``) concatenated, stripped and deduplicated (first copy kept)."""
    frames = [text_corpora.get(n)() if n in text_corpora else load_user_table(n, ["text"]) for n in names]
    text = pd.concat(frames, ignore_index=True)["text"].astype(str).str.strip()
    text = text[text.str.len() > 0].drop_duplicates()
    return pd.DataFrame({"text": text.to_numpy()})


HF_SUFFIXES = {".parquet": "parquet", ".jsonl": "jsonl", ".tsv": "tsv"}


def huggingface_dataset_files(repo_id: str) -> list[tuple[str, Path]]:
    """(kind, path) of the data files of a Hugging Face dataset repository: its train split
    when file names say which split they hold, else every file. Read from the local Hugging
    Face cache (with ``HF_HUB_OFFLINE=1`` nothing is downloaded)."""
    from huggingface_hub import snapshot_download

    try:
        root = Path(
            snapshot_download(repo_id, repo_type="dataset", allow_patterns=[f"*{suffix}" for suffix in HF_SUFFIXES])
        )
    except Exception as exc:  # offline and not cached, unknown id, no access
        raise CorpusError(f"Hugging Face dataset {repo_id!r} is not available: {exc}") from exc
    files = sorted(p for p in root.rglob("*") if p.suffix in HF_SUFFIXES)
    train = [p for p in files if "train" in p.name]
    return [(HF_SUFFIXES[p.suffix], p) for p in (train or files)]


def load_user_table(spec: str, columns: list[str]) -> pd.DataFrame:
    """A user table ``tsv:PATH``, ``jsonl:PATH``, ``parquet:PATH`` or ``hf:OWNER/NAME`` (a
    Hugging Face dataset id) with non-empty text in ``columns``, read by
    ``rotelab.data.user_tables`` (errors name the file and line; a TSV needs a header)."""
    kind, _, location = spec.partition(":")
    if kind == "hf" and location:
        parts = huggingface_dataset_files(location)
        if not parts:
            raise CorpusError(f"Hugging Face dataset {location!r} has no parquet, jsonl or tsv files")
        return pd.concat([read_user_table(p, k, columns) for k, p in parts], ignore_index=True)
    if kind in FILE_FORMATS and location:
        return read_user_table(location, kind, columns)
    raise CorpusError(
        f"{spec!r}: not a registered name, nor a table as tsv:PATH, jsonl:PATH, parquet:PATH or hf:OWNER/NAME"
    )


def load_qa(name: str) -> pd.DataFrame:
    """A registered QA source, or a user table (``load_user_table``) with ``question`` and
    ``answer`` columns."""
    if ":" not in name:
        return qa_sources.get(name)()
    table = load_user_table(name, ["question", "answer"])
    stem = Path(name.partition(":")[2]).stem
    return pd.DataFrame(
        {"id": [f"{stem}-{i}" for i in range(len(table))], "question": table["question"], "answer": table["answer"]}
    )


def prepare_pretraining(names, max_documents: int | None, n_valid: int, seed: int):
    """(train, valid) document tables: the corpora loaded, optionally subsampled, and a
    seeded validation split (used only to tell when pretraining has plateaued)."""
    text = load_text(names)
    if max_documents is not None and len(text) > max_documents:
        text = text.sample(n=max_documents, random_state=seed)
    if len(text) <= n_valid:
        raise CorpusError(f"{len(text)} pretraining documents leave none for training after {n_valid} validation ones")
    text = text.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return text.iloc[n_valid:].reset_index(drop=True), text.iloc[:n_valid].reset_index(drop=True)


def prepare_qa(sources, fraction: float, n_test: int, seed: int) -> pd.DataFrame:
    """One row per QA pair with its ``client`` (the source's position: one federated client
    per source, P1) and ``split``: ``n_test`` seeded pairs of every source are held out for
    utility, then a seeded ``fraction`` of the rest is kept for fine-tuning, so the clients
    stay as unequal as their sources."""
    frames = []
    for client, name in enumerate(sources):
        qa = load_qa(name).sample(frac=1.0, random_state=seed + client).reset_index(drop=True)
        if len(qa) <= n_test:
            raise CorpusError(f"QA source {name!r} has {len(qa)} pairs, none left after {n_test} test pairs")
        train = qa.iloc[n_test:]
        train = train.iloc[: max(1, round(fraction * len(train)))]
        for split, part in (("test", qa.iloc[:n_test]), ("train", train)):
            frames.append(part.assign(client=client, source=name, split=split))
    return pd.concat(frames, ignore_index=True)[["client", "source", "split", "id", "question", "answer"]]


def client_documents(qa: pd.DataFrame, canaries: pd.DataFrame, seed: int) -> list[list[str]]:
    """Each client's fine-tuning documents: its training QA pairs in the template, plus
    every canary note assigned to it repeated ``duplication`` times, in a seeded order."""
    out = []
    for client in sorted(qa["client"].unique()):
        texts = [
            qa_text(q, a)
            for q, a in qa.loc[(qa["client"] == client) & (qa["split"] == "train"), ["question", "answer"]].itertuples(
                index=False
            )
        ]
        for note in canaries[canaries["client"] == client].itertuples():
            texts += [note.text] * int(note.duplication)
        order = np.random.default_rng(seed + int(client)).permutation(len(texts))
        out.append([texts[i] for i in order])
    return out
