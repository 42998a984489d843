import numpy as np
import pandas as pd
import torch

from rotelab.core.device import set_threads
from rotelab.core.io import write_parquet
from rotelab.core.logs import log_to
from rotelab.papers.dsm.score_matching import (
    DiffusionConfig,
    empirical_score,
    mmd_squared,
    nearest_distance,
    network_score,
    reverse_sample,
    train_diffusion_net,
)

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    p = dict(snakemake.params.diffusion)
    lr = snakemake.params.lr
    seed, sample_seeds, budget = p.pop("seed"), p.pop("sample_seeds"), p.pop("step_budget")
    cfg = DiffusionConfig(**p)
    steps = max(1, round(budget / lr))
    gen = torch.Generator().manual_seed(seed)
    # Every learning rate sees the same training set (the seed fixes it), as in the notebook.
    points = cfg.scale * torch.randn(cfg.n_train, cfg.dim, generator=gen)
    print(f"lr={lr}: {steps} SGD steps on {cfg.n_train} points")
    net = train_diffusion_net(cfg, points, lr, steps, torch.Generator().manual_seed(seed + 1))
    fitted = torch.distributions.MultivariateNormal(points.mean(0), torch.cov(points.T))
    rows, kept = [], []
    for s in range(sample_seeds):
        # The network and the empirical optimal score are driven by the same noise.
        with torch.no_grad():
            generated = reverse_sample(network_score(net), cfg, cfg.samples, torch.Generator().manual_seed(100 + s))
        optimal = reverse_sample(empirical_score(points), cfg, cfg.samples, torch.Generator().manual_seed(100 + s))
        # The Gaussian baseline's draws are seeded too (MultivariateNormal.sample takes no generator).
        noise = torch.randn(cfg.samples, cfg.dim, generator=torch.Generator().manual_seed(200 + s))
        gaussian = fitted.mean + noise @ fitted.scale_tril.T
        for sampler, x in (("network", generated), ("optimal", optimal)):
            # A diverged network (non-finite samples) has no distance to report: inf, not NaN.
            finite = bool(torch.isfinite(x).all())
            rows.append(
                {
                    "lr": lr,
                    "steps": steps,
                    "sample_seed": s,
                    "sampler": sampler,
                    "finite": finite,
                    "mmd_train": mmd_squared(x, points, cfg.bandwidth) if finite else np.inf,
                    "mmd_gaussian": mmd_squared(x, gaussian, cfg.bandwidth) if finite else np.inf,
                    "nearest_median": float(np.median(nearest_distance(x, points))),
                }
            )
        if s == 0:
            kept += [
                pd.DataFrame({"lr": lr, "kind": kind, "x": v[:, 0].numpy(), "y": v[:, 1].numpy()})
                for kind, v in (("network", generated), ("optimal", optimal), ("training_point", points))
            ]
    table = pd.DataFrame(rows)
    print(table.to_string())
    write_parquet(table, snakemake.output.metrics)
    write_parquet(pd.concat(kept, ignore_index=True), snakemake.output.samples)
