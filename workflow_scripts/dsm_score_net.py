import numpy as np
import pandas as pd
import torch

from rotelab.core.device import set_threads
from rotelab.core.io import write_parquet
from rotelab.core.logs import log_to
from rotelab.papers.dsm.score_matching import DSMConfig, noise_schedule, optimal_score, train_score_net

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    p = dict(snakemake.params.dsm)
    t, lr = snakemake.params.t, snakemake.params.lr
    seeds, seed, budget = p.pop("seeds"), p.pop("seed"), p.pop("step_budget")
    cfg = DSMConfig(**p)
    steps = max(cfg.eval_every * cfg.eval_last, round(budget / lr))  # epochs scaled as 1/eta
    mu, sigma = noise_schedule(t)
    print(f"t={t} (mu={mu:.3f}, sigma={sigma:.3f}), lr={lr}: {seeds} seeds, {steps} SGD steps")
    net, points, risk = train_score_net(cfg, t, lr, steps, seeds, seed)
    print(f"excess risk per seed: {np.round(risk, 4).tolist()}")
    write_parquet(
        pd.DataFrame({"t": t, "lr": lr, "steps": steps, "seed": np.arange(seeds), "excess_risk": risk}),
        snakemake.output.risk,
    )
    # The learned and the empirical optimal score on a grid (1-D: the curves of P2's Fig. 1).
    grid = torch.linspace(-3, 3, 241)
    y = grid[None, :, None].expand(seeds, -1, cfg.dim).contiguous()
    with torch.no_grad():
        learned, optimal = net(y)[..., 0], optimal_score(y, points, mu, sigma)[..., 0]
    curves = pd.DataFrame(
        {
            "t": t,
            "lr": lr,
            "seed": np.repeat(np.arange(seeds), len(grid)),
            "y": np.tile(grid.numpy(), seeds),
            "learned": learned.reshape(-1).numpy(),
            "optimal": optimal.reshape(-1).numpy(),
        }
    )
    points_rows = pd.DataFrame(
        {
            "t": t,
            "lr": lr,
            "seed": np.repeat(np.arange(seeds), cfg.n_train),
            "y": (mu * points[..., 0]).reshape(-1).numpy(),
            "learned": np.nan,
            "optimal": np.nan,
        }
    )
    write_parquet(
        pd.concat([curves.assign(kind="curve"), points_rows.assign(kind="training_point")], ignore_index=True),
        snakemake.output.curves,
    )
