"""Translation quality, replication, extractive memorization and hallucinations.

Definitions follow Dankers & Raunak (ACL 2025, "Memorization Inheritance in Sequence-Level
Knowledge Distillation for NMT", code ``vernadankers/memseqkd``); each function's
docstring says which variant it implements.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np
from sacrebleu.metrics import BLEU, CHRF

from rotelab.core.stats import bootstrap_interval


def _corpus_stat_interval(metric, hyps, refs, n_boot: int, seed: int) -> dict:
    """Corpus-level score with a percentile bootstrap over sentences.

    Sentence sufficient statistics are computed once and re-summed per resample (as
    sacrebleu's own paired bootstrap does), so the bootstrap costs no re-tokenisation.
    """
    stats = np.asarray(metric._extract_corpus_statistics(list(hyps), [list(refs)]), dtype=float)
    score = lambda s: metric._compute_score_from_stats(list(s.sum(0))).score  # noqa: E731
    lo, hi = bootstrap_interval(score, stats, n_boot=n_boot, seed=seed)
    return {"value": score(stats), "n": len(hyps), "ci_low": lo, "ci_high": hi}


def bleu(hyps, refs, n_boot: int = 1000, seed: int = 0) -> dict:
    """Corpus BLEU (sacrebleu defaults: 13a tokenisation, exponential smoothing)."""
    return _corpus_stat_interval(BLEU(), hyps, refs, n_boot, seed)


def chrf(hyps, refs, n_boot: int = 1000, seed: int = 0) -> dict:
    """Corpus chrF (sacrebleu defaults: character 6-grams, beta 2)."""
    return _corpus_stat_interval(CHRF(), hyps, refs, n_boot, seed)


def sentence_chrf(hyp: str, ref: str) -> float:
    return CHRF().sentence_score(hyp, [ref]).score


def replicated(hyps, refs) -> np.ndarray:
    """P3's replication: the greedy output equals the training target exactly; as in
    ``memseqkd/model_training/compare.py`` only outer whitespace is stripped."""
    return np.array([str(h).strip() == str(r).strip() for h, r in zip(hyps, refs)], dtype=bool)


@dataclass(frozen=True)
class ExMemConfig:
    """Filters and threshold of extractive memorization (P3 section 2).

    min_source_words: the source must have at least this many words.
    max_length_ratio: source/target word-length ratio at most this, both ways.
    threshold: ExMem when the shortest reproducing prefix is at most this share of the source.
    """

    min_source_words: int = 4
    max_length_ratio: float = 1.3
    threshold: float = 0.75


def exmem_eligible(src: str, tgt: str, cfg: ExMemConfig) -> bool:
    """Whether a replicated pair enters the ExMem test (P3's ``filters.basic_filter``):
    whitespace words, >= 4 source words, length ratio <= 1.3 both ways, source != target.
    P3 also drops pairs whose fastText language id is wrong; no language-id model ships
    offline, so that filter is not applied."""
    s, t = src.split(), tgt.split()
    if len(s) < cfg.min_source_words or not t:
        return False
    ratio_ok = len(s) / len(t) <= cfg.max_length_ratio and len(t) / len(s) <= cfg.max_length_ratio
    return ratio_ok and src.strip() != tgt.strip()


def source_prefixes(src: str) -> list[str]:
    """Word prefixes x[1:i] for i = 1 .. |x| - 2, as ``memseqkd``'s
    ``generate_prefixes.py`` builds them (``range(1, n - 1)``: the (n-1)-word prefix is
    never tried; the full source is known to replicate)."""
    words = src.split()
    return [" ".join(words[:i]) for i in range(1, len(words) - 1)]


def shortest_reproducing_prefix(prefix_outputs: list[str], target: str, n_words: int) -> int:
    """Smallest i such that translating x[1:i] yields the full (memorized) target, compared
    after stripping outer whitespace; ``n_words`` if no prefix does."""
    goal = str(target).strip()
    for i, out in enumerate(prefix_outputs, start=1):
        if str(out).strip() == goal:
            return i
    return n_words


def is_exmem(min_prefix: int, n_words: int, threshold: float) -> bool:
    """ExMem if the shortest reproducing prefix covers at most ``threshold`` of the source."""
    return min_prefix / n_words <= threshold


def basic_tokenize(text: str) -> list[str]:
    """Word tokens as BERT's ``BasicTokenizer`` makes them (lower-case, accents stripped,
    punctuation split off), which P3's ``hallucinations.py`` counts bigrams over."""
    text = unicodedata.normalize("NFD", str(text).lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    tokens: list[str] = []
    for word in text.split():
        current = ""
        for c in word:
            if unicodedata.category(c).startswith("P") or (c.isascii() and not c.isalnum()):
                if current:
                    tokens.append(current)
                    current = ""
                tokens.append(c)
            else:
                current += c
        if current:
            tokens.append(current)
    return tokens


def top_bigram_count(tokens: list[str]) -> int:
    counts = Counter(zip(tokens, tokens[1:]))
    return max(counts.values()) if counts else 0


@dataclass(frozen=True)
class HallucinationConfig:
    """Thresholds of P3's hallucination detectors.

    osc_min_count: an oscillatory output's most frequent bigram occurs more than this often.
    osc_min_excess: ... and more than this many times more than the source's top bigram.
    osc_max_source_tokens: only sources shorter than this are tested.
    natural_min_sources: at least this many distinct sources share one identical output.
    natural_max_chrf: substitute for P3's COMET-QE < 0.85 filter (no COMET model ships
        offline): the output's sentence chrF to the reference must be below this.
    """

    osc_min_count: int = 10
    osc_min_excess: int = 4
    osc_max_source_tokens: int = 50
    natural_min_sources: int = 5
    natural_max_chrf: float = 30.0


def oscillation_testable(src: str, hyp: str) -> bool:
    """P3 leaves out pairs with an empty side or fewer than 2 words/tokens on either side
    ("empty" and "too_short") from the oscillatory rate's denominator."""
    return all(len(t.split()) >= 2 and len(basic_tokenize(t)) >= 2 for t in (src, hyp))


def oscillatory(src_tokens: list[str], hyp_tokens: list[str], cfg: HallucinationConfig) -> bool:
    """Oscillatory hallucination (Raunak et al. 2021; P3's ``hallucinations.py``): the
    output's most frequent bigram occurs more than ``osc_min_count`` times and more than
    ``osc_min_excess`` times beyond the source's, for sources under
    ``osc_max_source_tokens`` tokens (P3's headline ``org_hal`` rate)."""
    if len(src_tokens) >= cfg.osc_max_source_tokens:
        return False
    top_hyp = top_bigram_count(hyp_tokens)
    return top_hyp > cfg.osc_min_count and top_hyp - top_bigram_count(src_tokens) > cfg.osc_min_excess


def natural(sources, hyps, refs, cfg: HallucinationConfig) -> np.ndarray:
    """Natural hallucinations (P3's ``hallucinations.py``): every pair whose output string
    is produced for ``natural_min_sources`` or more distinct sources and is of low quality.
    P3 filters with COMET-QE (wmt22-cometkiwi-da) < 0.85; no COMET model ships offline, so
    sentence chrF to the reference below ``natural_max_chrf`` stands in for it."""
    hyps_n = [str(h).strip() for h in hyps]
    sources_per_output: dict[str, set] = {}
    for s, h in zip(sources, hyps_n):
        sources_per_output.setdefault(h, set()).add(s)
    flags = []
    for s, h, r in zip(sources, hyps_n, refs):
        shared = len(sources_per_output[h]) >= cfg.natural_min_sources
        flags.append(bool(shared and h and sentence_chrf(h, r) < cfg.natural_max_chrf))
    return np.array(flags, dtype=bool)
