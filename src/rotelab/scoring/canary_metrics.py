"""Canary metrics: secret extraction, exposure and membership inference.

Members are inserted canaries, non-members the never-inserted ones drawn from the same
generator, so a membership attack can only succeed through what training left behind.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rotelab.core.stats import mean_with_interval, membership_summary, rate, roc_curve
from rotelab.data.canaries import SECRET_SLOT, canary_generators, candidate_secrets
from rotelab.membership.attacks import AttackConfig, attacks, exposure, extrapolated_exposure
from rotelab.models.seq2seq_decoding import continue_targets, score_targets


def extracted(outputs, secrets) -> np.ndarray:
    """A secret is extracted when it appears verbatim in the model's output (a greedy
    translation or continuation whose input never contains it)."""
    return np.array([str(s) in str(h) for h, s in zip(outputs, secrets)], dtype=bool)


def secret_prompts(tokenizer, targets, templates) -> list[list[int]]:
    """Token ids of each target up to where its secret begins: every token that ends at or
    before the secret slot's character offset, so no piece of the secret is given away."""
    encoded = tokenizer(list(targets), return_offsets_mapping=True, add_special_tokens=False)
    prompts = []
    for ids, offsets, template in zip(encoded["input_ids"], encoded["offset_mapping"], templates):
        cut = template.index(SECRET_SLOT)
        keep = 0
        while keep < len(ids) and offsets[keep][1] <= cut:
            keep += 1
        prompts.append(ids[:keep])
    return prompts


def prompted_continuations(
    model, tokenizer, canaries: pd.DataFrame, max_new_tokens: int, batch_size: int = 64
) -> pd.DataFrame:
    """Greedy continuation of each canary's target text before its secret, given the source.

    This is the extraction attack of the Secret Sharer (Carlini et al. 2019: the attacker
    knows the context, "my SSN is ...") and of P1 (Bossy et al. 2025,
    ``tuneinsight/federated-llms`` ``src/privacy_benchmark.py``: prompt with the tokens
    before a split point, decode greedily, compare), carried over to translation: the
    encoder reads the canary's source and the decoder is prompted with the target up to
    the secret.
    """
    prompts = secret_prompts(tokenizer, canaries["tgt"], canaries["template"])
    texts = continue_targets(model, tokenizer, canaries["src"].tolist(), prompts, max_new_tokens, batch_size)
    return pd.DataFrame(
        {
            "canary_id": canaries["canary_id"].to_numpy(),
            "prompt_tokens": [len(p) for p in prompts],
            "continuation": texts,
        }
    )


def canary_exposures(
    model, tokenizer, canaries: pd.DataFrame, generator: str, n_candidates: int, seed: int, batch_size: int = 128
) -> pd.DataFrame:
    """Exposure of each canary's secret among ``n_candidates`` alternatives.

    The log-perplexity of a candidate is the summed token NLL of the full target with the
    candidate in the secret slot, given the canary's source (Carlini et al. 2019).
    ``exposure`` is the sampled rank (at most log2(n_candidates + 1)); ``exposure_extrapolated``
    the rank in the generator's whole secret space from a skew-normal fit to the candidates
    (Sec. 4.3), at most log2 |R|.
    """
    space = canary_generators.get(generator).secret_space
    sources, targets, owners = [], [], []
    for row in canaries.itertuples():
        candidates = [row.secret] + candidate_secrets(generator, row.secret, n_candidates, seed)
        for cand in candidates:
            sources.append(row.src)
            targets.append(row.template.replace(SECRET_SLOT, cand))
            owners.append(row.canary_id)
    scores = score_targets(model, tokenizer, sources, targets, batch_size=batch_size, with_distribution=False)
    log_ppl = np.array([-s.logprobs.sum() for s in scores])
    out = []
    per = n_candidates + 1
    for k, row in enumerate(canaries.itertuples()):
        block = log_ppl[k * per : (k + 1) * per]
        out.append(
            {
                "canary_id": row.canary_id,
                "log_perplexity": float(block[0]),
                "exposure": exposure(block[0], block[1:]),
                "exposure_extrapolated": extrapolated_exposure(block[0], block[1:], space),
                "n_candidates": n_candidates,
            }
        )
    return pd.DataFrame(out)


def summarise_canaries(
    canaries: pd.DataFrame, hyps: pd.DataFrame, prompted: pd.DataFrame, exposures: pd.DataFrame, n_boot: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-canary flags and per-replica-group rates (extraction: Wilson; exposure: bootstrap).

    ``extraction`` is the prompted attack (``prompted_continuations``); ``extraction_source``
    is the stricter one where the model sees only the source and must produce the whole
    record, secret included, unprompted. ``exposure_ceiling`` is the most the sampled
    ``exposure`` can reach, log2(n_candidates + 1), so a reader can tell saturation from
    a measured value; ``exposure_extrapolated`` is not bound by it.
    """
    table = (
        canaries.merge(hyps[["canary_id", "hyp"]], on="canary_id")
        .merge(prompted[["canary_id", "continuation"]], on="canary_id")
        .merge(exposures, on="canary_id")
    )
    table["extracted"] = extracted(table["continuation"], table["secret"])
    table["extracted_from_source"] = extracted(table["hyp"], table["secret"])
    rows = []
    for replicas, group in table.groupby("replicas"):
        rows.append({"metric": "extraction", "replicas": int(replicas), **rate(group["extracted"])})
        rows.append({"metric": "extraction_source", "replicas": int(replicas), **rate(group["extracted_from_source"])})
        for metric in ("exposure", "exposure_extrapolated"):
            rows.append(
                {
                    "metric": metric,
                    "replicas": int(replicas),
                    **mean_with_interval(group[metric], n_boot=n_boot, seed=seed),
                }
            )
        ceiling = float(np.log2(group["n_candidates"].max() + 1))
        rows.append(
            {
                "metric": "exposure_ceiling",
                "replicas": int(replicas),
                "value": ceiling,
                "n": len(group),
                "ci_low": ceiling,
                "ci_high": ceiling,
            }
        )
    examples = table[
        [
            "canary_id",
            "replicas",
            "inserted",
            "secret",
            "hyp",
            "continuation",
            "extracted",
            "extracted_from_source",
            "log_perplexity",
            "exposure",
            "exposure_extrapolated",
        ]
    ]
    return examples, pd.DataFrame(rows)


def membership_scores(model, tokenizer, canaries: pd.DataFrame, attack_names, cfg: AttackConfig) -> pd.DataFrame:
    """One row per canary and attack: the attack's score (higher = member)."""
    scores = score_targets(model, tokenizer, canaries["src"].tolist(), canaries["tgt"].tolist())
    return attack_table(canaries, scores, canaries["tgt"].tolist(), attack_names, cfg)


def attack_table(canaries: pd.DataFrame, scores, texts, attack_names, cfg: AttackConfig) -> pd.DataFrame:
    """One row per canary (``canary_id``, ``replicas``, ``inserted``) and attack, from the
    canaries' token scores and texts."""
    rows = []
    for name in attack_names:
        attack = attacks.get(name)
        for row, s, text in zip(canaries.itertuples(), scores, texts):
            rows.append(
                {
                    "canary_id": row.canary_id,
                    "replicas": row.replicas,
                    "inserted": row.inserted,
                    "attack": name,
                    "score": attack(s, text, cfg),
                }
            )
    return pd.DataFrame(rows)


def summarise_membership(per_example: pd.DataFrame, n_boot: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """AUC/TPR per attack, for all inserted canaries (``replicas = -1``) and per replica
    group, each against all never-inserted canaries; plus the overall ROC points."""
    summary, curves = [], []
    for attack, frame in per_example.groupby("attack"):
        negatives = frame.loc[~frame["inserted"], "score"].to_numpy()
        groups = [(-1, frame[frame["inserted"]])] + [
            (int(r), g) for r, g in frame[frame["inserted"]].groupby("replicas")
        ]
        for replicas, group in groups:
            for row in membership_summary(group["score"].to_numpy(), negatives, n_boot=n_boot, seed=seed):
                summary.append({"attack": attack, "replicas": replicas, **row})
        fpr, tpr = roc_curve(frame.loc[frame["inserted"], "score"], negatives)
        curves.append(pd.DataFrame({"attack": attack, "fpr": fpr, "tpr": tpr}))
    return pd.DataFrame(summary), pd.concat(curves, ignore_index=True)
