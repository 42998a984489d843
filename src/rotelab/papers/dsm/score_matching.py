"""Large learning rates in denoising score matching prevent memorization (Wu et al., COLT
2025, "P2"; settings from the authors' notebooks, ``pojoowu/Prevent-Memorization-via-
implicit-regularization``).

Training points x_1..x_n, noised as Y = mu x + sigma xi with (mu, sigma) = (e^-t,
sqrt(1 - e^-2t)) at diffusion time t. The denoising score-matching risk
R_n(s) = 1/n sum_i E_Y[(s(Y) + (Y - mu x_i) / sigma^2)^2] is minimised by the empirical optimal
score s*(y) = sum_i (mu x_i - y) w_i(y) / sigma^2, w = softmax_i(-(y - mu x_i)^2 / 2 sigma^2),
whose reverse diffusion reproduces the training points: memorization. P2's network is a
two-layer ReLU net in the mean-field scaling, s(y) = 1/m sum_l w2_l ReLU(w1_l y + b_l), trained
by plain SGD whose step on every parameter is m * eta * gradient (the notebooks' scaling),
for steps proportional to 1/eta. The claim: SGD at a large eta cannot settle in the sharp
minima near s*, so the excess risk 1/n sum_i E(s - s*)^2 keeps a floor that grows with eta,
and samples generalize instead of copying the training set.

Everything runs in float32, as the notebooks' JAX code does. All seeds of one setting train
together: parameters carry a leading seed axis and the gradients are written out by hand
(a two-layer net's are three lines), so one job trains its whole spread of seeds at the cost
of one slightly wider network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


def noise_schedule(t: float) -> tuple[float, float]:
    """(mu, sigma) of the Ornstein-Uhlenbeck forward process at time t."""
    return math.exp(-t), math.sqrt(1.0 - math.exp(-2.0 * t))


@dataclass
class SeedBatchedReLUNet:
    """S independent two-layer ReLU nets f(u) = 1/m W2 ReLU(W1 u + b), one per seed.

    w1: (S, m, d_in) first-layer weights, N(0, 1/d_in) at init; b: (S, m) biases, zero at
    init; w2: (S, d_out, m) output weights, N(0, 1) at init (the notebooks' initialisation).
    """

    w1: torch.Tensor
    b: torch.Tensor
    w2: torch.Tensor

    @classmethod
    def init(
        cls, seeds: int, width: int, d_in: int, d_out: int, generator: torch.Generator, dtype=torch.float32
    ) -> SeedBatchedReLUNet:
        w1 = torch.randn(seeds, width, d_in, generator=generator, dtype=dtype) / math.sqrt(d_in)
        w2 = torch.randn(seeds, d_out, width, generator=generator, dtype=dtype)
        return cls(w1, torch.zeros(seeds, width, dtype=dtype), w2)

    @property
    def width(self) -> int:
        return self.w1.shape[1]

    def hidden(self, u: torch.Tensor) -> torch.Tensor:
        """Pre-activations (S, B, m) of inputs u (S, B, d_in)."""
        return torch.baddbmm(self.b[:, None, :], u, self.w1.transpose(1, 2))

    def __call__(self, u: torch.Tensor) -> torch.Tensor:
        return torch.bmm(torch.relu(self.hidden(u)), self.w2.transpose(1, 2)) / self.width

    def sgd_step(self, u: torch.Tensor, target: torch.Tensor, lr: float) -> torch.Tensor:
        """One SGD step on each seed's mean squared error mean((f(u) - target)^2) over its batch
        and output dimensions, moving every parameter by ``width * lr`` times its gradient.
        Returns each seed's loss before the step."""
        m = self.width
        pre = self.hidden(u)
        h = torch.relu(pre)
        residual = torch.bmm(h, self.w2.transpose(1, 2)).div_(m).sub_(target)
        loss = residual.pow(2).mean(dim=(1, 2))
        g_out = residual.mul_(2.0 / (residual.shape[1] * residual.shape[2]))
        g_w2 = torch.bmm(g_out.transpose(1, 2), h).div_(m)
        g_pre = torch.bmm(g_out, self.w2).div_(m).mul_(pre > 0)
        g_w1 = torch.bmm(g_pre.transpose(1, 2), u)
        g_b = g_pre.sum(1)
        step = m * lr
        self.w1.sub_(g_w1, alpha=step)
        self.b.sub_(g_b, alpha=step)
        self.w2.sub_(g_w2, alpha=step)
        return loss


def optimal_score(y: torch.Tensor, points: torch.Tensor, mu: float, sigma: float) -> torch.Tensor:
    """The empirical optimal score s*(y) for each seed's training points.

    y: (S, B, d) query points; points: (S, n, d) training points. Returns (S, B, d).
    """
    centres = mu * points
    logits = -torch.cdist(y, centres).pow(2) / (2 * sigma**2)  # (S, B, n)
    weights = torch.softmax(logits, dim=-1)
    return (torch.einsum("sbn,snd->sbd", weights, centres) - y) / sigma**2


@dataclass(frozen=True)
class DSMConfig:
    """One setting of P2's score-matching experiment (paper values in brackets; the defaults
    are the config schema's, sized for a CPU).

    n_train: training points per seed, N(0, I_d) [20]. dim: data dimension d [1; 10 too].
    width: hidden units m [1000]. batch_size: noised points per SGD step, drawn from the
    training points with replacement, fresh noise every step [50]. noise_draws: noise draws
    per training point when estimating the excess risk [5000]. eval_every / eval_last: the
    reported excess risk is the mean of the last ``eval_last`` estimates taken every
    ``eval_every`` steps [100, 5], which averages over SGD's oscillation around its floor.
    """

    n_train: int = 20
    dim: int = 1
    width: int = 128
    batch_size: int = 50
    noise_draws: int = 5000
    eval_every: int = 100
    eval_last: int = 5


def excess_risk(
    net: SeedBatchedReLUNet,
    points: torch.Tensor,
    mu: float,
    sigma: float,
    noise_draws: int,
    generator: torch.Generator,
    chunk: int = 50_000,
) -> torch.Tensor:
    """Each seed's excess risk R_n(s) - R_n(s*) = 1/n sum_i E_z |s(mu x_i + sigma z) - s*(.)|^2
    (s* minimises R_n over all functions, so the cross term vanishes), by Monte Carlo with
    ``noise_draws`` draws per training point. Returns (S,)."""
    seeds, n, d = points.shape
    y = (mu * points).repeat_interleave(noise_draws, dim=1)
    y = y + sigma * torch.randn(y.shape, generator=generator, dtype=points.dtype)
    total = torch.zeros(seeds, dtype=points.dtype)
    for start in range(0, y.shape[1], chunk):
        part = y[:, start : start + chunk]
        total += (net(part) - optimal_score(part, points, mu, sigma)).pow(2).sum(dim=(1, 2))
    return total / y.shape[1]


def train_score_net(
    cfg: DSMConfig, t: float, lr: float, steps: int, seeds: int, seed: int = 0, log=print
) -> tuple[SeedBatchedReLUNet, torch.Tensor, np.ndarray]:
    """Train ``seeds`` nets (each on its own training set, init and noise) at time t with SGD
    at learning rate ``lr`` for ``steps`` steps. Returns (nets, training points (S, n, d),
    excess risk per seed averaged over the last ``cfg.eval_last`` evaluations)."""
    mu, sigma = noise_schedule(t)
    gen = torch.Generator().manual_seed(seed)
    points = torch.randn(seeds, cfg.n_train, cfg.dim, generator=gen)
    net = SeedBatchedReLUNet.init(seeds, cfg.width, cfg.dim, cfg.dim, gen)
    eval_gen = torch.Generator().manual_seed(seed + 1)
    first_eval = steps - cfg.eval_every * (cfg.eval_last - 1)
    risks = []
    rows = torch.arange(seeds)[:, None]
    for step in range(1, steps + 1):
        idx = torch.randint(0, cfg.n_train, (seeds, cfg.batch_size), generator=gen)
        x = points[rows, idx]
        z = torch.randn(x.shape, generator=gen, dtype=x.dtype)
        # Target: the conditional score -(Y - mu x) / sigma^2 = -z / sigma.
        loss = net.sgd_step(mu * x + sigma * z, -z / sigma, lr)
        if step >= first_eval and (steps - step) % cfg.eval_every == 0:
            risks.append(excess_risk(net, points, mu, sigma, cfg.noise_draws, eval_gen))
        if step % max(1, steps // 5) == 0:
            log(f"t={t} lr={lr} step {step}/{steps}: median DSM loss {float(loss.median()):.4f}")
    risk = torch.stack(risks).mean(0).numpy()
    # A diverged run (non-finite weights) has no floor to report: keep it as inf, not NaN.
    return net, points, np.where(np.isfinite(risk), risk, np.inf)


# ---- the d = 2 diffusion experiment ---------------------------------------------------------


@dataclass(frozen=True)
class DiffusionConfig:
    """P2's 2-D diffusion experiment (the notebooks' values in brackets; the defaults are the
    config schema's, sized for a CPU).

    n_train: training points, N(0, scale^2 I_2) [10, scale 2]. width: hidden units of the
    time-conditioned net, whose input is (y, t) and output the noise epsilon [1000].
    batch_size [5000]. t_min / t_max: training times, a grid of ``t_grid`` values drawn with
    probability proportional to 1/sigma(t) [0.05, 1, 100]. sampling_steps: Euler-Maruyama
    steps of the reverse SDE from t_max down to ``t_end`` [100, 0.01]. samples: generated
    points per sampling seed [1000]. bandwidth: Gaussian-kernel bandwidth of the MMD [the
    notebook used 0.1 against samples of s*; 1 against the training points, as here].
    """

    n_train: int = 10
    scale: float = 2.0
    dim: int = 2
    width: int = 128
    batch_size: int = 500
    t_min: float = 0.05
    t_max: float = 1.0
    t_grid: int = 100
    sampling_steps: int = 100
    t_end: float = 0.01
    samples: int = 1000
    bandwidth: float = 1.0


def _times_and_scales(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.exp(-t), torch.sqrt(1.0 - torch.exp(-2.0 * t))


def train_diffusion_net(
    cfg: DiffusionConfig, points: torch.Tensor, lr: float, steps: int, generator: torch.Generator, log=print
) -> SeedBatchedReLUNet:
    """A time-conditioned noise predictor eps(y, t) for one training set (points: (n, d)),
    trained by SGD on mean |eps(mu_t x + sigma_t z, t) - z|^2 (seed axis of size 1)."""
    grid = torch.linspace(cfg.t_min, cfg.t_max, cfg.t_grid)
    weights = 1.0 / _times_and_scales(grid)[1]
    net = SeedBatchedReLUNet.init(1, cfg.width, cfg.dim + 1, cfg.dim, generator)
    for step in range(1, steps + 1):
        t = grid[torch.multinomial(weights, cfg.batch_size, replacement=True, generator=generator)][:, None]
        x = points[torch.randint(0, len(points), (cfg.batch_size,), generator=generator)]
        z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        mu, sigma = _times_and_scales(t)
        u = torch.cat([mu * x + sigma * z, t], dim=1)[None]
        loss = net.sgd_step(u, z[None], lr)
        if step % max(1, steps // 5) == 0:
            log(f"diffusion lr={lr} step {step}/{steps}: loss {float(loss[0]):.4f}")
    return net


def reverse_sample(score, cfg: DiffusionConfig, n: int, generator: torch.Generator) -> torch.Tensor:
    """Euler-Maruyama on the reverse of dY = -Y dt + sqrt(2) dW, from N(0, I) at t_max down
    to t_end; ``score(y, t)`` gives the score at time t for points y (n, d)."""
    dt = (cfg.t_max - cfg.t_end) / cfg.sampling_steps
    y = torch.randn(n, cfg.dim, generator=generator)
    for k in range(cfg.sampling_steps):
        t = cfg.t_max - k * dt
        noise = torch.randn(y.shape, generator=generator, dtype=y.dtype)
        y = y + (y + 2.0 * score(y, t)) * dt + math.sqrt(2.0 * dt) * noise
    return y


def network_score(net: SeedBatchedReLUNet):
    def score(y, t):
        sigma = math.sqrt(1.0 - math.exp(-2.0 * t))
        u = torch.cat([y, torch.full((len(y), 1), t, dtype=y.dtype)], dim=1)[None]
        return -net(u)[0] / sigma

    return score


def empirical_score(points: torch.Tensor):
    def score(y, t):
        mu, sigma = noise_schedule(t)
        return optimal_score(y[None], points[None], mu, sigma)[0]

    return score


def mmd_squared(x: torch.Tensor, y: torch.Tensor, bandwidth: float) -> float:
    """Squared maximum mean discrepancy with the Gaussian kernel exp(-|a - b|^2 / 2 h^2), the
    biased (V-statistic) estimate of Gretton et al. (2012): never negative, and it stays
    meaningful against a reference as small as P2's ten training points, where the unbiased
    estimate's leave-one-out terms swing below zero."""

    def kernel(a, b):
        return torch.exp(-torch.cdist(a, b).pow(2) / (2 * bandwidth**2)).mean()

    return float(kernel(x, x) + kernel(y, y) - 2 * kernel(x, y))


def nearest_distance(samples: torch.Tensor, points: torch.Tensor) -> np.ndarray:
    """Each sample's distance to its nearest training point (memorized samples sit at ~0)."""
    return torch.cdist(samples, points).min(dim=1).values.numpy()
