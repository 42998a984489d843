"""Goldfish loss: about 1/k of targets dropped, the same ones for the same text."""

import torch

from rotelab.training.goldfish import GoldfishSettings, drop_mask, goldfish_nll, hash_table


def test_drops_about_one_in_k_deterministically_by_context():
    torch.manual_seed(0)
    targets = torch.randint(1, 5000, (64, 128))
    mask = drop_mask(targets, k=4, h=13)
    assert not mask[:, :12].any()  # no full window yet
    assert abs(mask[:, 12:].float().mean().item() - 0.25) < 0.02
    # The same text in another row, shifted, drops the same tokens once the window is full.
    shifted = torch.cat([torch.randint(1, 5000, (1, 7)), targets[:1, :121]], dim=1)
    again = drop_mask(shifted, k=4, h=13)
    assert torch.equal(again[0, 7 + 12 :], mask[0, 12:121])
    # A token's fate depends only on its own window: the reference's hash-table rule.
    window = targets[3, 20 - 12 : 21]
    key = int(torch.prod(window.long())) % 1_000_003
    assert bool(mask[3, 20]) == bool(hash_table()[key] < 0.25)


def test_goldfish_loss_is_the_sum_over_kept_targets():
    class Uniform(torch.nn.Module):
        def forward(self, input_ids):
            logits = torch.zeros(*input_ids.shape, 50)
            logits[..., 7] = 3.0  # token 7 is likely, everything else equally unlikely
            return type("Out", (), {"logits": logits})()

    batch = torch.randint(0, 50, (4, 40))
    settings = GoldfishSettings(k=3, h=5)
    kept = ~drop_mask(batch[:, 1:], 3, 5)
    logp = torch.log_softmax(Uniform()(batch[:, :-1]).logits, -1).gather(-1, batch[:, 1:, None])[..., 0]
    total, count = goldfish_nll(Uniform(), batch, settings)
    assert int(count) == int(kept.sum()) and torch.isclose(total, -logp[kept].sum())
