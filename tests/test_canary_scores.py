"""Canary extraction: what the attacker is given and how extraction is counted."""

import math

import numpy as np
import pandas as pd
import pytest

from rotelab.data.canaries import CanaryConfig, make_canaries
from rotelab.data.tokenizer import train_bpe
from rotelab.models.seq2seq import ModelConfig, build_model
from rotelab.scoring.canary_metrics import canary_exposures, secret_prompts, summarise_canaries


@pytest.fixture(scope="module")
def canaries():
    return make_canaries(CanaryConfig(replicas=(1, 4), n_per_replica=4, seed=3))


def test_secret_prompt_is_the_target_up_to_the_secret(canaries):
    tokenizer = train_bpe(list(canaries.src) + list(canaries.tgt), vocab_size=400, min_frequency=1)
    prompts = secret_prompts(tokenizer, canaries["tgt"], canaries["template"])
    for prompt, row in zip(prompts, canaries.itertuples()):
        text = tokenizer.decode(prompt)
        before = row.template[: row.template.index("{secret}")]
        assert before.strip().startswith(text.strip()) and len(text.strip()) >= len(before.strip()) - 1
        assert not any(ch.isdigit() for ch in text[len(before.rstrip()) :])  # no piece of the secret leaks
        assert row.secret not in text


def test_extraction_rates_count_secrets_in_the_outputs(canaries):
    table = canaries[["canary_id", "replicas", "inserted", "secret"]].copy()
    four = table["replicas"] == 4
    # Prompted: every 4x canary and one 1x canary yield their secret; unprompted: none.
    cont = ["x " + s if r == 4 else "x 000-00-0000" for s, r in zip(table.secret, table.replicas)]
    cont[int(table.index[table.replicas == 1][0])] = "Versicherungsnummer " + table.secret[table.replicas == 1].iloc[0]
    prompted = pd.DataFrame({"canary_id": table.canary_id, "continuation": cont})
    hyps = pd.DataFrame({"canary_id": table.canary_id, "hyp": "Die Stadt ist still."})
    exposures = pd.DataFrame(
        {
            "canary_id": table.canary_id,
            "log_perplexity": 1.0,
            "exposure": [3.0 if f else 1.0 for f in four],
            "exposure_extrapolated": [12.0 if f else 1.5 for f in four],
            "n_candidates": 250,
        }
    )
    examples, summary = summarise_canaries(canaries, hyps, prompted, exposures, n_boot=50, seed=0)
    got = summary.set_index(["metric", "replicas"])["value"]
    assert got["extraction", 4] == 1.0 and got["extraction", 1] == 0.25 and got["extraction", 0] == 0.0
    assert (got["extraction_source"] == 0).all()
    assert got["exposure", 4] == 3.0 and got["exposure", 0] == 1.0
    assert got["exposure_extrapolated", 4] == 12.0 and got["exposure_extrapolated", 0] == 1.5
    assert got["exposure_ceiling"].tolist() == pytest.approx([math.log2(251)] * 3)
    assert summary.groupby("metric").size().to_dict() == {
        m: 3 for m in ["extraction", "extraction_source", "exposure", "exposure_extrapolated", "exposure_ceiling"]
    }
    assert "exposure_extrapolated" in examples.columns
    assert summary.set_index(["metric", "replicas"]).loc[("extraction", 1), "n"] == 4
    assert examples["extracted"].sum() == 5


def test_canary_exposures_put_sampled_and_extrapolated_exposure_side_by_side(canaries):
    tokenizer = train_bpe(list(canaries.src) + list(canaries.tgt), vocab_size=400, min_frequency=1)
    arch = ModelConfig(d_model=32, encoder_layers=1, decoder_layers=1, heads=2, ffn_dim=64, dropout=0.0)
    model = build_model(arch, tokenizer, seed=0).eval()
    out = canary_exposures(model, tokenizer, canaries.head(3), "patient-records", n_candidates=30, seed=0)
    assert list(out.columns) == ["canary_id", "log_perplexity", "exposure", "exposure_extrapolated", "n_candidates"]
    assert out["exposure"].between(0, math.log2(31)).all()
    # The whole space of ###-##-#### numbers bounds the extrapolated measure.
    assert (np.isfinite(out["exposure_extrapolated"]) & out["exposure_extrapolated"].between(0, math.log2(1e9))).all()
