"""P4's skewed memorization: samples, one run with checkpoints, n_pre against real greedy
decoding, the per-token and geometric laws, delta_S and the paired test."""

import numpy as np
import pandas as pd
import pytest
import torch

from rotelab.data.lm_text import qa_prompt
from rotelab.data.tokenizer import train_bpe
from rotelab.models.causal_lm import LMConfig, build_lm
from rotelab.papers.skew.n_pre import (
    SkewRun,
    delta_similarity,
    empirical_survival,
    encode_sample,
    geometric_survival,
    leading_hits,
    paired_signed_rank,
    per_token_survival,
    plan,
    prefix_match_scores,
    run_samples,
    train_with_checkpoints,
)

QA = [
    (f"What is a thing number {i}?", f"A thing of kind {i % 7} made of {['wood', 'iron', 'salt'][i % 3]} and glass.")
    for i in range(40)
]


@pytest.fixture(scope="module")
def tiny():
    texts = [f"{qa_prompt(q)} {a}" for q, a in QA]
    tok = train_bpe(texts, vocab_size=600, min_frequency=1)
    # two layers: with per-sample training one layer did not learn the number-to-kind
    # mapping in 60 epochs
    model = build_lm(LMConfig(d_model=64, layers=2, heads=2, block_size=96, dropout=0.0), tok, seed=0)
    samples = pd.DataFrame(
        {
            "sample_id": [f"scored-{i}" for i in range(len(QA))],
            "role": "scored",
            "source": "test",
            "rank": range(len(QA)),
            "prefix": [qa_prompt(q) for q, _ in QA],
            "suffix": [f" {a}" for _, a in QA],
        }
    )
    torch.set_num_threads(1)
    return model, tok, samples


def test_the_suffix_is_what_the_full_text_adds_after_the_prompt(tiny):
    _, tok, samples = tiny
    prompt, suffix = encode_sample(tok, samples["prefix"][0], samples["suffix"][0])
    # the prompt starts at the text's first token, as every fine-tuning example does
    assert prompt == tok(samples["prefix"][0], add_special_tokens=False)["input_ids"][: len(prompt)]
    assert tok.decode(prompt + suffix).strip() == samples["prefix"][0] + samples["suffix"][0]
    assert tok.eos_token_id not in suffix


def test_runs_are_nested_and_the_mixture_adds_the_dissimilar_samples():
    samples = pd.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(6)] + ["m0", "m1", "m2"],
            "role": ["scored"] * 6 + ["mixture"] * 3,
            "rank": [*range(6), *range(3)],
        }
    )
    runs = plan({"sizes": [4, 2]})
    assert [r.name for r in runs] == ["n2", "n4", "n4-mixed"]
    assert set(run_samples(samples, runs[0], 0.5)["sample_id"]) <= set(run_samples(samples, runs[1], 0.5)["sample_id"])
    mixed = run_samples(samples, runs[2], 0.5)
    assert list(mixed["sample_id"]) == ["s0", "s1", "s2", "s3", "m0", "m1"]


def test_one_run_saves_a_checkpoint_at_each_requested_epoch_and_memorizes(tiny):
    model, tok, samples = tiny
    saved = {}

    def save(epoch, trained):
        saved[epoch] = prefix_match_scores(trained, tok, samples)

    texts = list(samples["prefix"] + samples["suffix"])
    log = train_with_checkpoints(
        model,
        tok,
        texts,
        {"batch_size": 4, "lr": 1e-2, "warmup_steps": 5, "seed": 0},
        [1, 3, 60],
        96,
        save,
        log=lambda *_: None,
    )
    assert sorted(saved) == [1, 3, 60]
    steps_per_epoch = int(log["step"].iloc[0])
    assert list(log["epoch"]) == list(range(1, 61)) and log["step"].iloc[-1] == 60 * steps_per_epoch
    first, last = saved[1], saved[60]
    assert last["n_pre"].mean() > first["n_pre"].mean() + 3
    assert last["suffix_loss"].mean() < first["suffix_loss"].mean()
    assert (last["n_pre"] <= last["suffix_tokens"]).all()


def test_n_pre_equals_the_match_length_of_real_greedy_decoding(tiny):
    model, tok, samples = tiny
    model.eval()
    scores = prefix_match_scores(model, tok, samples)
    for i in range(0, len(samples), 5):
        prompt, suffix = encode_sample(tok, samples["prefix"][i], samples["suffix"][i])
        with torch.no_grad():
            out = model.generate(
                torch.tensor([prompt]),
                attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                max_new_tokens=len(suffix),
                min_new_tokens=len(suffix),
                do_sample=False,
                pad_token_id=tok.pad_token_id,
            )[0, len(prompt) :].tolist()
        assert scores["n_pre"][i] == leading_hits(np.array(out) == np.array(suffix))
        lp = scores["token_logprobs"][i]
        assert len(lp) == len(suffix) and scores["suffix_loss"][i] == pytest.approx(-np.mean(lp), rel=1e-5)


def test_per_token_model_and_geometric_law():
    # Constant p: the per-token model is the geometric law (truncated at the suffix length).
    p = 0.6
    survival = per_token_survival([np.log([p] * 30)], 10)
    np.testing.assert_allclose(survival, p ** np.arange(11))
    np.testing.assert_allclose(geometric_survival(p / (1 - p), 10), p ** np.arange(11))
    # A mixture of a sure sample and a hopeless one: half survive to any length up to 5.
    mixed = per_token_survival([np.zeros(5), np.log([1e-9] * 5)], 6)
    assert mixed[1:6] == pytest.approx([0.5] * 5, abs=1e-8) and mixed[6] == 0
    np.testing.assert_allclose(empirical_survival([0, 2, 2, 5], 3), [1, 0.75, 0.75, 0.25])


def test_delta_s_is_full_similarity_minus_prefix_similarity():
    e = np.eye(3)
    full = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=float)
    out = delta_similarity(full, e)
    np.testing.assert_allclose(out["full_similarity"], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(out["prefix_similarity"], [0, 0, 0])
    np.testing.assert_allclose(out["delta_s"], [0.5, 0.5, 0.0])


def test_paired_signed_rank_detects_a_shift_and_not_noise():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 10, 200)
    shifted = paired_signed_rank(a + rng.integers(1, 3, 200), a)
    assert shifted["p_value"] < 1e-6 and shifted["mean_difference"] > 1
    assert paired_signed_rank(a, a)["p_value"] == 1.0
    assert paired_signed_rank(a + rng.integers(-1, 2, 200), a)["p_value"] > 0.001


@pytest.mark.parametrize("name", ["n256", "n16-mixed"])
def test_run_names_round_trip(name):
    size, mixed = int(name.split("-")[0][1:]), name.endswith("-mixed")
    assert SkewRun(size, mixed).name == name


def test_the_sentence_encoder_loads_offline_and_ranks_similar_text_higher():
    from rotelab.papers.skew.n_pre import load_sentence_encoder

    encoder = load_sentence_encoder()
    e = encoder.encode(
        ["What is a fever?", "What is a high temperature?", "And God said, let there be light"],
        normalize_embeddings=True,
    )
    assert e.shape == (3, 384)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2


def test_user_tables_split_as_qa_or_as_text(tmp_path):
    from rotelab.papers.skew.n_pre import prefix_suffix

    qa = tmp_path / "qa.tsv"
    qa.write_text("question\tanswer\nWhat is a cat?\tA small feline.\n")
    text = tmp_path / "text.tsv"
    text.write_text("text\none two three four five\ntoo short\n")
    assert prefix_suffix(f"tsv:{qa}").to_dict("records") == [
        {"prefix": "Question: What is a cat? The answer is:", "suffix": " A small feline."}
    ]
    # Documents under four words have no suffix worth matching.
    assert prefix_suffix(f"tsv:{text}").to_dict("records") == [{"prefix": "one two", "suffix": " three four five"}]


def test_a_pool_too_small_for_the_sizes_is_named():
    from rotelab.papers.skew.n_pre import prepare_samples

    with pytest.raises(ValueError, match="dataset 'wordnet-medical' has .* samples; 100000 are needed"):
        prepare_samples("wordnet-medical", 100_000, None, 0, 0)
