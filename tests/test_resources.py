"""Scheduler resources follow the config: bigger models and longer runs ask for more."""

import pytest

from rotelab.data.tokenizer import train_bpe
from rotelab.models.seq2seq import ModelConfig, build_model, count_parameters
from rotelab.pipeline import job_estimates as resources

ARCHS = [
    dict(d_model=32, encoder_layers=1, decoder_layers=1, heads=2, ffn_dim=64),
    dict(d_model=64, encoder_layers=2, decoder_layers=3, heads=4, ffn_dim=256),
]


@pytest.mark.parametrize("arch", ARCHS, ids=["1+1", "2+3"])
def test_parameter_estimate_matches_the_built_model(arch):
    tok = train_bpe([f"word{i} other{i % 7}" for i in range(300)], vocab_size=400, min_frequency=1)
    built = count_parameters(build_model(ModelConfig(**arch), tok, seed=0))
    assert resources.marian_parameters(arch, len(tok)) == pytest.approx(built, rel=0.03)


def test_estimates_scale_with_the_work():
    model = dict(d_model=512, encoder_layers=6, decoder_layers=6, ffn_dim=2048)
    short = resources.training(model, dict(steps=1000, batch_size=64), 16000, gpu=False, threads=1)
    long = resources.training(model, dict(steps=10000, batch_size=64), 16000, gpu=False, threads=1)
    on_gpu = resources.training(model, dict(steps=10000, batch_size=64), 16000, gpu=True, threads=1)
    assert long.runtime > 5 * short.runtime and on_gpu.runtime < long.runtime
    assert (short.gpu, on_gpu.gpu) == (0, 1)
    assert on_gpu.mem_mb < long.mem_mb  # activations live on the GPU
    assert short.mem_mb % 100 == 0 and short.mem_mb >= resources.BASE_MB
    tiny = resources.decoding(
        dict(d_model=32, encoder_layers=1, decoder_layers=1, ffn_dim=64), 300, 10, 8, 16, gpu=False, threads=1
    )
    assert tiny.runtime == resources.MIN_RUNTIME_MIN and tiny.as_dict()["gpu"] == 0
    assert resources.light(10).mem_mb < resources.light(10_000_000).mem_mb


@pytest.mark.parametrize("recipe", ["gpt2", "llama"])
def test_causal_lm_parameter_estimate_matches_the_built_model(recipe):
    from rotelab.models.causal_lm import LMConfig, build_lm

    tok = train_bpe([f"word{i} other{i % 7}" for i in range(300)], vocab_size=400, min_frequency=1)
    arch = dict(recipe=recipe, d_model=48, layers=2, heads=4, block_size=32)
    built = count_parameters(build_lm(LMConfig(**arch), tok))
    assert resources.causal_lm_parameters(arch, len(tok)) == built


# ---- the work a config implies (the numbers rules/*.smk hand to the estimates) -------------

LM = {
    "max_documents": None,
    "qa": {"fraction": 0.5, "n_test": 10, "sources": ["a", "b"]},
    "canaries": {"n_per_group": 2, "duplication": [1, 10], "visits": 1},
    "finetune": {"train": {"epochs": 2, "batch_size": 4}},
    "base": {"model": {"block_size": 100}},
    "federated": {"rounds": 3, "local_epochs": 1},
    "extraction": {"prompt_lengths": [8, 16]},
    "audit": {"canaries": 40},
}


def test_translation_sizes_count_the_canary_lines():
    data = {"max_pairs": 1000, "n_test": 50}
    canaries = {"replicas": [1, 4, 16], "n_per_replica": 10}
    assert resources.n_canaries(canaries) == 60  # 30 inserted, 30 held out
    assert resources.canary_lines(canaries) == 210  # 30 inserted canaries, 7 copies each on average
    assert resources.translation_split_sizes(data, canaries) == {"train": 1210, "test": 50, "canaries": 60}
    assert resources.translation_pairs({"max_pairs": None}) == 1_000_000


def test_lm_finetuning_steps_scale_with_setting_and_defense():
    # 0.5 * 27k QA pairs * 40 tokens + (50 + 130 * 1 visit) * 2 notes * 11 copies + 50 * 40 / 2 audit canaries
    assert resources.lm_finetune_tokens(LM) == 544_960
    assert resources.centralized_finetune_steps(LM) == 2725  # ceil(2 epochs * 544960 / (4 * 100))
    assert resources.lm_finetune_steps(LM, "centralized", "none") == 2725
    assert resources.lm_finetune_steps(LM, "centralized", "weight_noise") == 2725
    # DP-SGD triples the steps; FedAvg scales by rounds x local_epochs / epochs = 3 x 1 / 2
    assert resources.lm_finetune_steps(LM, "centralized", "dp") == 3 * 2725
    assert resources.lm_finetune_steps(LM, "federated", "none") == 4088
    assert resources.lm_finetune_steps(LM, "federated", "dp") == 3 * 4088
    assert (
        resources.lm_finetune_steps({**LM, "federated": {"rounds": 2, "local_epochs": 3}}, "federated", "none") == 8175
    )


def test_lm_scoring_sequences_and_sizes():
    assert resources.n_lm_canaries(LM) == 8  # 2 per group, inserted and held out, 2 groups
    # 8 canaries x 2 prompt lengths + 2 answers x 10 questions x 2 sources; 8 x 300 // 100
    assert resources.lm_decoding_sequences(LM) == 16 + 40
    assert resources.lm_membership_sequences(LM) == 24
    assert resources.lm_documents(LM) == 150_000
    assert resources.lm_documents({"max_documents": 4000}) == 4000


def test_teacher_finetuning_takes_at_least_one_step():
    assert resources.teacher_finetune_steps({"epochs": 1, "batch_size": 32}, 1000) == 32  # ceil(31.25)
    assert resources.teacher_finetune_steps({"epochs": 0.001, "batch_size": 32}, 1000) == 1


def test_skew_runs_count_their_mixture_and_last_epoch():
    skew = {"mixture": {"ratio": 0.5}, "epochs": [1, 2, 4], "train": {"batch_size": 8}}
    assert resources.skew_run_samples(skew, 100, mixed=False) == 100
    assert resources.skew_run_samples(skew, 100, mixed=True) == 150
    # 150 samples x 40 tokens x 4 epochs over batches of 8 blocks of 50
    assert resources.skew_finetune_steps(skew, 100, True, 50) == 60
    assert resources.skew_finetune_steps(skew, 100, False, 50) == 40
    assert resources.skew_scoring_sequences(skew, 100, True) == 450  # every sample at 3 checkpoints


def test_jobs_in_one_batch_or_in_sequence():
    one = resources.JobResources(2000, 10, 1)
    # one interpreter (1,500 MB) and four models' 500 MB each
    assert one.times(4) == resources.JobResources(3500, 40, 1)
    assert one.in_sequence(4) == resources.JobResources(2000, 40, 1)
