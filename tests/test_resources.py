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


def test_gpt2_parameter_estimate_matches_the_built_model():
    from rotelab.models.causal_lm import LMConfig, build_lm

    tok = train_bpe([f"word{i} other{i % 7}" for i in range(300)], vocab_size=400, min_frequency=1)
    arch = dict(d_model=48, layers=2, heads=4, block_size=32)
    built = count_parameters(build_lm(LMConfig(**arch), tok))
    assert resources.gpt2_parameters(arch, len(tok)) == pytest.approx(built, rel=0.01)
