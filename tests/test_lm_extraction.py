"""P1's extraction protocol: split points, prompts, greedy continuation with a frequency
penalty, exact and character-BLEU approximate memorization, rates per group."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from rotelab.data.tokenizer import train_bpe
from rotelab.models.causal_lm import LMConfig, PlateauConfig, build_lm, pretrain
from rotelab.scoring.lm_extraction import (
    ExtractionConfig,
    FrequencyPenalty,
    char_bleu,
    continue_prompts,
    extraction_requests,
    matching_prefix,
    memorization_rates,
    score_continuations,
    split_points,
)
from rotelab.training.seq2seq import TrainConfig


def test_char_bleu_matches_hand_computation():
    assert char_bleu("abcdef", "abcdef") == pytest.approx(1.0)
    assert char_bleu("abcdef", "abcde") == pytest.approx(math.exp(1 - 6 / 5))  # all precisions 1, brevity
    assert char_bleu("abcd", "abce") == 0.0  # no 4-gram in common, no smoothing
    # "abcxyz" vs "abcxzz": 1- to 4-gram precisions 5/6, 3/5, 2/4, 1/3; equal lengths
    assert char_bleu("abcxyz", "abcxzz") == pytest.approx(
        math.exp(sum(map(math.log, [5 / 6, 3 / 5, 2 / 4, 1 / 3])) / 4)
    )
    assert char_bleu("x", "") == 0.0


def test_split_points_leave_room_on_both_sides_and_are_seeded():
    cfg = ExtractionConfig(prompt_lengths=(2, 4), completion_tokens=3, seed=1)
    splits = split_points([20, 20, 7, 8], cfg)
    assert splits == split_points([20, 20, 7, 8], cfg)
    assert all(4 <= s < 17 for s in splits[:2])
    assert splits[2:] == [None, 4]  # 7 tokens cannot hold 4 + 3 with a choice; 8 leave exactly one
    assert matching_prefix([1, 2, 3, 4], [1, 2, 9, 4]) == 2


@pytest.fixture(scope="module")
def trained():
    text = ["Medical Note: patient Anna Berg has asthma and takes salbutamol daily ."] * 30
    text += [f"the river number {i} runs to the sea ." for i in range(60)]
    tok = train_bpe(text, vocab_size=300, min_frequency=1)
    model = build_lm(LMConfig(d_model=32, layers=1, heads=2, block_size=32, dropout=0.0), tok, seed=0)
    torch.set_num_threads(1)
    pretrain(
        model,
        tok,
        text,
        text[:20],
        TrainConfig(steps=100, batch_size=16, lr=5e-3, warmup_steps=10, log_every=50, device="cpu"),
        PlateauConfig(eval_every=100, patience=5),
        block_size=32,
        log=lambda *_: None,
    )
    return model.eval(), tok


def test_requests_cut_the_prompt_right_before_one_shared_split(trained):
    _, tok = trained
    canaries = pd.DataFrame(
        {
            "canary_id": [0, 1],
            "duplication": [1, 10],
            "text": ["Medical Note: patient Anna Berg has asthma and takes salbutamol daily ."] * 2,
        }
    )
    cfg = ExtractionConfig(prompt_lengths=(2, 4), completion_tokens=3, seed=0)
    req = extraction_requests(tok, canaries, cfg)
    ids = tok(canaries["text"][0], add_special_tokens=False)["input_ids"]
    first = req[req.canary_id == 0]
    assert list(first.prompt_length) == [2, 4] and first.answer.iloc[0] == first.answer.iloc[1]
    split = next(
        s for s in range(len(ids)) if ids[s : s + 3] == first.answer.iloc[0] and ids[s - 4 : s] == first.prompt.iloc[1]
    )
    assert first.prompt.iloc[0] == ids[split - 2 : split]


def test_frequency_penalty_subtracts_counts_of_generated_tokens_only():
    scores = torch.zeros(1, 5)
    ids = torch.tensor([[4, 4, 1, 1, 2]])  # prompt [4, 4], generated [1, 1, 2]
    out = FrequencyPenalty(1.0, prompt_length=2)(ids, scores)
    assert out.tolist() == [[0.0, -2.0, -1.0, 0.0, 0.0]]


@pytest.mark.parametrize("penalty", [0.0, 1.0])
def test_continuations_match_a_plain_greedy_loop(trained, penalty):
    model, tok = trained
    cfg = ExtractionConfig(prompt_lengths=(3,), completion_tokens=6, frequency_penalty=penalty)
    prompts = [
        tok("Medical Note: patient", add_special_tokens=False)["input_ids"],
        tok("the river number", add_special_tokens=False)["input_ids"][:3],
        tok("Medical Note", add_special_tokens=False)["input_ids"],
    ]
    ours = continue_prompts(model, prompts, cfg, pad_id=tok.pad_token_id, batch_size=2)
    for prompt, got in zip(prompts, ours):
        cur = list(prompt)
        for _ in range(6):
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([cur])).logits[0, -1]
            counts = torch.bincount(torch.tensor(cur[len(prompt) :], dtype=torch.long), minlength=logits.numel())
            cur.append(int((logits - penalty * counts[: logits.numel()]).argmax()))
        assert got == cur[len(prompt) :]


def test_scoring_counts_matching_tokens_and_character_bleu(trained):
    _, tok = trained
    canaries = pd.DataFrame(
        {
            "canary_id": [0],
            "duplication": [30],
            "text": ["Medical Note: patient Anna Berg has asthma and takes salbutamol daily ."],
        }
    )
    cfg = ExtractionConfig(prompt_lengths=(4, 6), completion_tokens=5, seed=3)
    req = extraction_requests(tok, canaries, cfg)
    answer = req["answer"].iloc[0]
    wrong_third = answer[:2] + [tok.eos_token_id] + answer[3:]
    scored = score_continuations(tok, req, [answer, wrong_third], cfg)
    assert scored["matching_tokens"].tolist() == [5, 2]
    assert scored["exact"].tolist() == [True, False]
    assert scored["bleu"].iloc[0] == pytest.approx(1.0) and scored["bleu"].iloc[1] < 1.0
    assert scored["approximate"].iloc[0] and (scored["generation_text"].iloc[0] == scored["answer_text"].iloc[0])


def test_rates_per_group_with_mean_and_worst_case():
    scored = pd.DataFrame(
        {
            "duplication": [1] * 4 + [10] * 4,
            "prompt_length": [2, 2, 4, 4] * 2,
            "exact": [0, 0, 1, 0, 1, 1, 1, 0],
            "approximate": [0, 1, 1, 1, 1, 1, 1, 1],
        }
    ).astype({"exact": bool, "approximate": bool})
    table = memorization_rates(scored)
    per = table[table.summary == "per_length"].set_index(["measure", "duplication", "prompt_length"])["value"]
    assert per["exact", 1, 4] == 0.5 and per["exact", 10, 2] == 1.0
    mean = table[table.summary == "mean"].set_index(["measure", "duplication"])["value"]
    assert mean["exact", 1] == 0.25 and mean["approximate", 10] == 1.0
    worst = table[(table.summary == "worst") & (table.measure == "exact") & (table.duplication == 1)].iloc[0]
    assert (worst["value"], worst["prompt_length"]) == (0.5, 4) and np.isfinite(worst["ci_high"])
