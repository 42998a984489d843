"""Canary extraction: what the attacker is given and how extraction is counted."""

import pandas as pd
import pytest

from rotelab.canaries import CanaryConfig, make_canaries
from rotelab.canary_scores import secret_prompts, summarise_canaries
from rotelab.tokenizer import train_bpe


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
        assert not any(ch.isdigit() for ch in text[len(before.rstrip()):])  # no piece of the secret leaks
        assert row.secret not in text


def test_extraction_rates_count_secrets_in_the_outputs(canaries):
    table = canaries[["canary_id", "replicas", "inserted", "secret"]].copy()
    four = table["replicas"] == 4
    # Prompted: every 4x canary and one 1x canary yield their secret; unprompted: none.
    cont = ["x " + s if r == 4 else "x 000-00-0000" for s, r in zip(table.secret, table.replicas)]
    cont[int(table.index[table.replicas == 1][0])] = "Versicherungsnummer " + table.secret[table.replicas == 1].iloc[0]
    prompted = pd.DataFrame({"canary_id": table.canary_id, "continuation": cont})
    hyps = pd.DataFrame({"canary_id": table.canary_id, "hyp": "Die Stadt ist still."})
    exposures = pd.DataFrame({"canary_id": table.canary_id, "log_perplexity": 1.0,
                              "exposure": [3.0 if f else 1.0 for f in four]})
    examples, summary = summarise_canaries(canaries, hyps, prompted, exposures, n_boot=50, seed=0)
    got = summary.set_index(["metric", "replicas"])["value"]
    assert got["extraction", 4] == 1.0 and got["extraction", 1] == 0.25 and got["extraction", 0] == 0.0
    assert (got["extraction_source"] == 0).all()
    assert got["exposure", 4] == 3.0 and got["exposure", 0] == 1.0
    assert summary.set_index(["metric", "replicas"]).loc[("extraction", 1), "n"] == 4
    assert examples["extracted"].sum() == 5
