"""The fine-tuning runs of the causal-LM track (P1), planned from the ``lm:`` config.

A run is one trained model: a setting (centralized on the pooled client data, or FedAvg
over the clients), an adapter (full fine-tuning or LoRA of some rank) and at most one
defense. The config names the sweeps; ``plan`` expands them into three families, one per
figure, that share runs where they coincide (the FedAvg/LoRA run without a defense is in
the memorization figure and is the defenses figure's reference):

* ``memorization``: full and LoRA, centralized and FedAvg, no defense;
* ``rank``: centralized LoRA at every rank of ``finetune.lora.ranks``, plus full
  fine-tuning as the reference;
* ``defenses``: in ``defenses.setting``, full and LoRA, each without a defense, with DP-SGD
  at every epsilon, with post-hoc weight noise at every standard deviation, with the
  Goldfish loss, and (FedAvg only) with secure aggregation.

A run's name spells out what it is (``fedavg-lora16-dp8``), so a run survives a config
change that does not touch it, and ``run_params`` hands its job exactly the settings it
depends on: changing a DP epsilon renames and retrains only the DP runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rotelab.models.causal_lm_recipes import lora_target_modules

SETTINGS = ("centralized", "federated")
DEFENSES = ("none", "dp", "weight_noise", "goldfish", "secure_aggregation")
FAMILIES = ("memorization", "rank", "defenses")
_SETTING_TAGS = {"centralized": "central", "federated": "fedavg"}


@dataclass(frozen=True)
class RunSpec:
    """setting: ``centralized`` or ``federated``. adapter: ``full`` or ``lora``. rank: LoRA
    rank (None for full). defense: one of DEFENSES. level: the defense's knob (epsilon for
    ``dp``, noise standard deviation for ``weight_noise``, k for ``goldfish``)."""

    setting: str
    adapter: str
    rank: int | None = None
    defense: str = "none"
    level: float | None = None

    @property
    def name(self) -> str:
        adapter = f"lora{self.rank}" if self.adapter == "lora" else "full"
        tag = {
            "none": "",
            "dp": "dp",
            "weight_noise": "noise",
            "goldfish": "goldfish",
            "secure_aggregation": "secagg",
        }[self.defense]
        level = f"{self.level:g}" if self.level is not None else ""
        return "-".join(filter(None, [_SETTING_TAGS[self.setting], adapter, tag + level]))

    @property
    def label(self) -> str:
        """A legend label: ``LoRA r16, FedAvg, DP-SGD eps 8``."""
        adapter = f"LoRA r{self.rank}" if self.adapter == "lora" else "full"
        setting = "FedAvg" if self.setting == "federated" else "centralized"
        defense = {
            "none": "",
            "dp": f"DP-SGD eps {self.level:g}" if self.level is not None else "",
            "weight_noise": f"weight noise {self.level:g}" if self.level is not None else "",
            "goldfish": f"Goldfish k={self.level:g}" if self.level is not None else "",
            "secure_aggregation": "secure aggregation",
        }[self.defense]
        return ", ".join(filter(None, [adapter, setting, defense]))


def plan(lm: dict) -> dict[str, list[RunSpec]]:
    """The runs of each figure family, in plotting order (a run may be in several)."""
    finetune = lm["finetune"]
    rank = finetune["lora"]["r"]
    adapters = [("full", None), ("lora", rank)]
    memorization = [RunSpec(s, a, r) for s in SETTINGS for a, r in adapters]
    rank_sweep = [RunSpec("centralized", "full")] + [
        RunSpec("centralized", "lora", r) for r in sorted(set(finetune["lora"]["ranks"]))
    ]
    defenses_cfg = lm["defenses"]
    setting = defenses_cfg["setting"]
    defenses = []
    for adapter, r in adapters:
        defenses.append(RunSpec(setting, adapter, r))
        defenses += [RunSpec(setting, adapter, r, "dp", float(e)) for e in defenses_cfg["dp"]["epsilons"]]
        defenses += [RunSpec(setting, adapter, r, "weight_noise", float(s)) for s in defenses_cfg["weight_noise"]]
        if defenses_cfg["goldfish"]["enabled"]:
            defenses.append(RunSpec(setting, adapter, r, "goldfish", float(defenses_cfg["goldfish"]["k"])))
        if setting == "federated" and defenses_cfg["secure_aggregation"]:
            defenses.append(RunSpec(setting, adapter, r, "secure_aggregation"))
    return {"memorization": memorization, "rank": rank_sweep, "defenses": defenses}


def all_runs(lm: dict) -> dict[str, RunSpec]:
    """Every planned run by name (each once)."""
    return {spec.name: spec for family in plan(lm).values() for spec in family}


def run_names(lm: dict) -> dict[str, list[str]]:
    """The run names of each figure family, in plotting order."""
    return {family: [spec.name for spec in specs] for family, specs in plan(lm).items()}


def reference_sets(lm: dict) -> dict[str, RunSpec]:
    """The causal-LM reference sets by name, each trained as the P1 run its spec names: one
    per adapter of ``lm.references.adapters`` and setting of ``lm.references.settings``.
    Centralized sets are named by their adapter (``full``, ``lora``), FedAvg ones
    ``fedavg-<adapter>``: LiRA assumes references trained like the target, and a FedAvg
    target trains differently (client by client, fresh merged LoRA adapters per round)."""
    rank = lm["finetune"]["lora"]["r"]
    sets = {}
    for setting in lm["references"]["settings"]:
        for adapter in lm["references"]["adapters"]:
            name = adapter if setting == "centralized" else f"{_SETTING_TAGS[setting]}-{adapter}"
            sets[name] = RunSpec(setting, adapter, rank if adapter == "lora" else None)
    return sets


def lira_run_names(lm: dict) -> list[str]:
    """Every memorization run against every reference set (:func:`reference_sets`):
    ``<set>/<run>``, the LiRA outputs' names (``results/lm/lira/<set>/<run>``)."""
    return [f"{name}/{spec.name}" for name in reference_sets(lm) for spec in plan(lm)["memorization"]]


def run_params(lm: dict, spec: RunSpec) -> dict:
    """Exactly the settings run ``spec`` depends on (its job's ``params``)."""
    finetune = lm["finetune"]
    params = {"spec": asdict(spec), "train": dict(finetune["train"])}
    if spec.adapter == "lora":
        lora = finetune["lora"]
        params["lora"] = {
            "r": spec.rank,
            "alpha": lora["alpha"],
            "dropout": lora["dropout"],
            "target_modules": lora_target_modules(lm["base"]["model"]["recipe"], lora["target_modules"]),
        }
        params["train"]["lr"] = lora["lr"]
    if spec.setting == "federated":
        params["federated"] = dict(lm["federated"])
    defenses = lm["defenses"]
    if spec.defense == "dp":
        params["dp"] = {
            "target_epsilon": spec.level,
            "delta": defenses["dp"]["delta"],
            "max_grad_norm": defenses["dp"]["max_grad_norm"],
        }
    elif spec.defense == "weight_noise":
        params["weight_noise"] = spec.level
    elif spec.defense == "goldfish":
        params["goldfish"] = {"k": int(spec.level), "h": defenses["goldfish"]["h"]}
    return params


# The leading columns :func:`tag` gives every per-run table: the run's name, label and spec.
RUN_COLUMNS = ["run", "label", "setting", "adapter", "rank", "defense", "level"]


def tag(table, spec: RunSpec):
    """``table`` with the run's name, label and spec fields as leading columns."""
    fields = {"run": spec.name, "label": spec.label, **asdict(spec)}
    return table.drop(columns=[c for c in fields if c in table.columns]).assign(**fields)[
        [*fields, *[c for c in table.columns if c not in fields]]
    ]
