"""P2's denoising score matching: gradients, the empirical optimal score, excess risk, the
reverse-SDE sampler and the MMD."""

import math

import pytest
import torch

from rotelab.papers.dsm.score_matching import (
    DiffusionConfig,
    DSMConfig,
    SeedBatchedReLUNet,
    excess_risk,
    mmd_squared,
    noise_schedule,
    optimal_score,
    reverse_sample,
    train_diffusion_net,
    train_score_net,
)


@pytest.mark.parametrize("d_in,d_out", [(1, 1), (3, 2)])
def test_hand_written_sgd_step_matches_autograd(d_in, d_out):
    gen = torch.Generator().manual_seed(0)
    net = SeedBatchedReLUNet.init(3, 16, d_in, d_out, gen, dtype=torch.float64)
    net.b += 0.1 * torch.randn(net.b.shape, generator=gen, dtype=torch.float64)
    u = torch.randn(3, 7, d_in, generator=gen, dtype=torch.float64)
    target = torch.randn(3, 7, d_out, generator=gen, dtype=torch.float64)
    params = [p.clone().requires_grad_(True) for p in (net.w1, net.b, net.w2)]
    reference = SeedBatchedReLUNet(*params)
    # Each seed's loss is independent, so the gradient of their sum is each seed's gradient.
    (reference(u) - target).pow(2).mean(dim=(1, 2)).sum().backward()
    lr = 0.01
    before = [p.detach().clone() for p in params]
    net.sgd_step(u, target, lr)
    for updated, start, param in zip((net.w1, net.b, net.w2), before, params):
        torch.testing.assert_close(updated, start - net.width * lr * param.grad)


def test_optimal_score_is_the_gradient_of_the_noised_empirical_density():
    gen = torch.Generator().manual_seed(1)
    points = torch.randn(1, 5, 2, generator=gen, dtype=torch.float64)
    mu, sigma = noise_schedule(0.2)
    y = torch.randn(1, 9, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    log_density = torch.logsumexp(-((y[:, :, None] - mu * points[:, None]) ** 2).sum(-1) / (2 * sigma**2), dim=-1)
    (grad,) = torch.autograd.grad(log_density.sum(), y)
    torch.testing.assert_close(optimal_score(y.detach(), points, mu, sigma), grad)


def test_excess_risk_is_zero_at_the_optimum_and_positive_elsewhere():
    gen = torch.Generator().manual_seed(2)
    points = torch.randn(2, 6, 1, generator=gen)
    mu, sigma = noise_schedule(0.2)

    class Optimal:
        def __call__(self, y):
            return optimal_score(y, points, mu, sigma)

    assert excess_risk(Optimal(), points, mu, sigma, 200, gen).abs().max() < 1e-10
    net = SeedBatchedReLUNet.init(2, 8, 1, 1, gen)
    assert (excess_risk(net, points, mu, sigma, 200, gen) > 0.1).all()


def test_sgd_brings_the_network_towards_the_optimal_score():
    cfg = DSMConfig(width=32, noise_draws=500, eval_every=50, eval_last=2)
    mu, sigma = noise_schedule(0.2)
    _, points, risk = train_score_net(cfg, 0.2, 0.1, 2000, seeds=2, log=lambda *_: None)
    untrained = SeedBatchedReLUNet.init(2, 32, 1, 1, torch.Generator().manual_seed(0))
    before = excess_risk(untrained, points, mu, sigma, 500, torch.Generator().manual_seed(1))
    assert points.shape == (2, 20, 1)
    assert (before > 0.5).all() and (torch.from_numpy(risk) < before / 10).all()


def test_reverse_sde_with_the_exact_score_recovers_a_gaussian():
    # Data N(0, s^2 I): the noised law is N(0, mu^2 s^2 + sigma^2), with an analytic score.
    s = 2.0
    cfg = DiffusionConfig(t_max=3.0, sampling_steps=300, t_end=0.001)

    def score(y, t):
        mu, sigma = noise_schedule(t)
        return -y / (mu**2 * s**2 + sigma**2)

    samples = reverse_sample(score, cfg, 4000, torch.Generator().manual_seed(3))
    assert samples.std(0).sub(s).abs().max() < 0.15
    assert samples.mean(0).abs().max() < 0.15


def test_mmd_is_zero_for_equal_sets_and_grows_with_a_shift():
    x = torch.randn(300, 2, generator=torch.Generator().manual_seed(4))
    assert mmd_squared(x, x, 1.0) == pytest.approx(0.0, abs=1e-6)
    shifts = [mmd_squared(x, x + shift, 1.0) for shift in (0.2, 1.0, 3.0)]
    assert 0 < shifts[0] < shifts[1] < shifts[2]


def test_diffusion_training_lowers_the_noise_prediction_loss():
    cfg = DiffusionConfig(width=32, batch_size=200)
    points = 2.0 * torch.randn(10, 2, generator=torch.Generator().manual_seed(5))
    losses = []
    net = train_diffusion_net(
        cfg,
        points,
        0.5,
        300,
        torch.Generator().manual_seed(6),
        log=lambda msg: losses.append(float(msg.rsplit(" ", 1)[1])),
    )
    assert losses[-1] < losses[0] and math.isfinite(losses[-1])
    assert net.w1.shape == (1, 32, 3)
