"""P3's per-model scores on the training and test sets, assembled from decodings.

Inputs are decoding tables (``src``, ``tgt`` = reference, ``hyp``). Replication and ExMem
are measured on the distinct corpus training pairs (canaries are scored separately); for
the student, "secondary" variants use the teacher's KD output as the reference.
"""

from __future__ import annotations

import pandas as pd

from rotelab.core.stats import rate
from rotelab.scoring.translation_metrics import (
    ExMemConfig,
    HallucinationConfig,
    basic_tokenize,
    bleu,
    chrf,
    exmem_eligible,
    is_exmem,
    natural,
    oscillation_testable,
    oscillatory,
    replicated,
    shortest_reproducing_prefix,
    source_prefixes,
)


def memorization_references(train_hyps: pd.DataFrame, kd: pd.DataFrame | None) -> pd.DataFrame:
    """Rows (pair_id, src, reference_kind, target, hyp): the corpus target for every
    model, plus the teacher's output as the reference for a student (secondary)."""
    rows = train_hyps.assign(reference_kind="corpus", target=train_hyps["tgt"])
    if kd is not None:
        teacher = kd.drop_duplicates("src").set_index("src")["tgt"]
        secondary = train_hyps.assign(reference_kind="teacher", target=train_hyps["src"].map(teacher))
        rows = pd.concat([rows, secondary.dropna(subset=["target"])], ignore_index=True)
    return rows[["pair_id", "src", "reference_kind", "target", "hyp"]]


def prefix_requests(references: pd.DataFrame, cfg: ExMemConfig) -> pd.DataFrame:
    """Every word prefix that the ExMem test must translate: one row per (pair, reference,
    prefix length i) for replicated pairs that pass P3's filters."""
    rows = []
    for r in references.itertuples():
        if not replicated([r.hyp], [r.target])[0] or not exmem_eligible(r.src, r.target, cfg):
            continue
        for i, prefix in enumerate(source_prefixes(r.src), start=1):
            rows.append({"pair_id": r.pair_id, "reference_kind": r.reference_kind, "i": i, "prefix": prefix})
    return pd.DataFrame(rows, columns=["pair_id", "reference_kind", "i", "prefix"])


def training_examples(
    references: pd.DataFrame, prefixes: pd.DataFrame, exmem: ExMemConfig, halluc: HallucinationConfig
) -> pd.DataFrame:
    """Per-example flags on training sources: replicated, exmem (+ shortest prefix),
    oscillatory and natural hallucination (corpus reference only)."""
    table = references.copy()
    table["replicated"] = replicated(table["hyp"], table["target"])
    table["eligible"] = [exmem_eligible(s, t, exmem) for s, t in zip(table["src"], table["target"])]
    table["n_words"] = table["src"].str.split().str.len()
    outputs = {k: g.sort_values("i")["output"].tolist() for k, g in prefixes.groupby(["pair_id", "reference_kind"])}
    min_prefix = []
    for r in table.itertuples():
        key = (r.pair_id, r.reference_kind)
        if r.replicated and r.eligible and key in outputs:
            min_prefix.append(shortest_reproducing_prefix(outputs[key], r.target, r.n_words))
        else:
            min_prefix.append(pd.NA)
    table["min_prefix"] = pd.array(min_prefix, dtype="Int64")
    table["exmem"] = [
        bool(pd.notna(m) and is_exmem(int(m), n, exmem.threshold))
        for m, n in zip(table["min_prefix"], table["n_words"])
    ]
    corpus = table["reference_kind"] == "corpus"
    table["osc_testable"] = False
    table["osc_hallucination"] = False
    table["nat_hallucination"] = False
    sub = table[corpus]
    table.loc[corpus, "osc_testable"] = [oscillation_testable(s, h) for s, h in zip(sub["src"], sub["hyp"])]
    table.loc[corpus, "osc_hallucination"] = [
        oscillatory(basic_tokenize(s), basic_tokenize(h), halluc) for s, h in zip(sub["src"], sub["hyp"])
    ]
    table.loc[corpus, "nat_hallucination"] = natural(
        sub["src"].tolist(), sub["hyp"].tolist(), sub["target"].tolist(), halluc
    )
    return table


def summarise(examples: pd.DataFrame, test_hyps: pd.DataFrame, n_boot: int, seed: int) -> pd.DataFrame:
    """Metric rows (metric, value, n, ci_low, ci_high) for one model.

    ``exmem`` is over replicated pairs that pass the filters, as in ``memseqkd``'s
    ``process_em.py``; ``exmem_of_corpus`` divides the same count by all distinct training
    pairs (P3's plots are labelled "% ExMem from T_C", which may mean either). The
    oscillatory rate leaves out pairs that are too short to test, as P3 does.
    """
    rows = [
        {"metric": "bleu", **bleu(test_hyps["hyp"], test_hyps["tgt"], n_boot, seed)},
        {"metric": "chrf", **chrf(test_hyps["hyp"], test_hyps["tgt"], n_boot, seed)},
    ]
    for kind, suffix in (("corpus", ""), ("teacher", "_secondary")):
        part = examples[examples["reference_kind"] == kind]
        if part.empty:
            continue
        candidates = part[part["replicated"] & part["eligible"]]
        rows += [
            {"metric": f"replication{suffix}", **rate(part["replicated"])},
            {"metric": f"exmem{suffix}", **rate(candidates["exmem"])},
            {"metric": f"exmem_of_corpus{suffix}", **rate(part["exmem"])},
        ]
    corpus = examples[examples["reference_kind"] == "corpus"]
    rows += [
        {"metric": "osc_hallucination", **rate(corpus.loc[corpus["osc_testable"], "osc_hallucination"])},
        {"metric": "nat_hallucination", **rate(corpus["nat_hallucination"])},
    ]
    return pd.DataFrame(rows)
