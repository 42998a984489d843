"""Corpus preparation: clean, deduplicate, length-filter and split deterministically."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rotelab.data.corpora import load_corpus


@dataclass(frozen=True)
class DataConfig:
    """What corpus to read and how to cut it into train/valid/test.

    corpus: registered corpus name or ``tsv:``/``jsonl:``/``parquet:`` path.
    reverse: swap source and target (e.g. German -> English for ``ding-en-de``).
    min_words / max_words: inclusive word-count bounds applied to both sides.
    max_length_ratio: drop pairs whose word counts differ by more than this factor.
    max_pairs: keep at most this many pairs after filtering (null keeps all).
    n_valid / n_test: held-out pairs; the rest is the training set.
    seed: the split's random seed.
    """

    corpus: str = "ding-en-de"
    reverse: bool = False
    min_words: int = 4
    max_words: int = 40
    max_length_ratio: float = 2.5
    max_pairs: int | None = None
    n_valid: int = 500
    n_test: int = 1000
    seed: int = 1


def clean_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def prepare_splits(cfg: DataConfig) -> dict[str, pd.DataFrame]:
    """Return ``{'train','valid','test'}`` frames with columns ``pair_id, src, tgt``."""
    df = load_corpus(cfg.corpus)
    if cfg.reverse:
        df = df.rename(columns={"src": "tgt", "tgt": "src"})[["src", "tgt"]]
    df = df.assign(src=df["src"].map(clean_text), tgt=df["tgt"].map(clean_text))
    src_words = df["src"].str.split().str.len()
    tgt_words = df["tgt"].str.split().str.len()
    ratio = np.maximum(src_words, tgt_words) / np.maximum(np.minimum(src_words, tgt_words), 1)
    keep = (
        src_words.between(cfg.min_words, cfg.max_words)
        & tgt_words.between(cfg.min_words, cfg.max_words)
        & (ratio <= cfg.max_length_ratio)
    )
    # One reference per source: duplicated sources would make replication ill-defined.
    df = df[keep].drop_duplicates("src").drop_duplicates(["src", "tgt"]).reset_index(drop=True)
    needed = cfg.n_valid + cfg.n_test + 1
    if len(df) < needed:
        raise ValueError(
            f"corpus {cfg.corpus!r} has {len(df)} pairs after filtering; "
            f"data.n_valid + data.n_test needs at least {needed}"
        )
    order = np.random.default_rng(cfg.seed).permutation(len(df))
    if cfg.max_pairs is not None:
        order = order[: max(cfg.max_pairs, needed)]
    df = df.iloc[order].reset_index(drop=True)
    df.insert(0, "pair_id", np.arange(len(df), dtype=np.int64))
    splits = {
        "valid": df.iloc[: cfg.n_valid],
        "test": df.iloc[cfg.n_valid : cfg.n_valid + cfg.n_test],
        "train": df.iloc[cfg.n_valid + cfg.n_test :],
    }
    return {name: part.reset_index(drop=True) for name, part in splits.items()}
