"""The papers rotelab reproduces, and the method papers whose claims its figures also check.

The papers map. One entry per paper: the short name used everywhere else (claims, the
report's navigation, the per-paper targets), the code P1-P7 the docs use, the citation, the
page of the docs that describes what rotelab runs for it, and where it lives: config
sections, rules files, package. The README's papers table is generated from it. Imports
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paper:
    """code: P1-P7 for the seven reproduced papers, '' for a method paper. citation: authors,
    title, venue and year; arxiv: its identifier. doc: its page, relative to the repository
    root (the method papers share the membership engine's page); ``rotelab.reproduction.docs``
    writes the page's verdicts table. config: the config sections that set its experiments;
    rules: its files under ``rules/``; package: the module tree that holds its code. Its
    figures are those whose claims name it; ``snakemake <short name>`` runs a reproduced
    paper alone."""

    code: str
    title: str
    citation: str
    arxiv: str
    doc: str
    config: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    package: str = ""


PAPERS: dict[str, Paper] = {
    "lora_fl": Paper(
        "P1",
        "LoRA reduces memorization in federated learning",
        "Bossy et al., Mitigating Unintended Memorization with LoRA in Federated Learning for LLMs, arXiv 2025",
        "2502.05087",
        "docs/papers/lora_fl.md",
        config=("lm",),
        rules=("lm.smk", "lm_finetune.smk", "lm_references.smk"),
        package="rotelab.papers.lora_fl",
    ),
    "dsm": Paper(
        "P2",
        "Large learning rates in denoising score matching prevent memorization",
        "Wu et al., Taking a Big Step: Large Learning Rates in Denoising Score Matching Prevent "
        "Memorization, COLT 2025",
        "2502.03435",
        "docs/papers/dsm.md",
        config=("dsm",),
        rules=("dsm.smk",),
        package="rotelab.papers.dsm",
    ),
    "seqkd": Paper(
        "P3",
        "Memorization inheritance in sequence-level KD for NMT",
        "Dankers & Raunak, Memorization Inheritance in Sequence-Level Knowledge Distillation for Neural "
        "Machine Translation, ACL 2025",
        "2502.01491",
        "docs/papers/seqkd.md",
        config=(
            "data",
            "tokenizer",
            "canaries",
            "teacher",
            "student",
            "distill",
            "decode",
            "scoring",
            "seqkd_subgroups",
            "adaptive_seqkd",
        ),
        rules=(
            "translation_data.smk",
            "canaries.smk",
            "translation_train.smk",
            "seqkd_distill.smk",
            "translation_score.smk",
            "seqkd_subgroups.smk",
            "adaptive_seqkd.smk",
        ),
        package="rotelab.papers.seqkd",
    ),
    "skew": Paper(
        "P4",
        "Skewed memorization in LLM fine-tuning",
        "Li et al., Skewed Memorization in Large Language Models: Quantification and Decomposition, arXiv 2025",
        "2502.01187",
        "docs/papers/skew.md",
        config=("skewed_memorization",),
        rules=("skewed_memorization.smk",),
        package="rotelab.papers.skew",
    ),
    "onion": Paper(
        "P5",
        "The privacy onion effect",
        "Carlini et al., The Privacy Onion Effect: Memorization is Relative, NeurIPS 2022",
        "2206.10469",
        "docs/papers/onion.md",
        config=("membership",),
        rules=("membership.smk",),
        package="rotelab.papers.onion",
    ),
    "relu_capacity": Paper(
        "P6",
        "Small ReLU networks are powerful memorizers",
        "Yun, Sra & Jadbabaie, Small ReLU networks are powerful memorizers: a tight analysis of "
        "memorization capacity, NeurIPS 2019",
        "1810.07770",
        "docs/papers/relu_capacity.md",
        config=("relu_capacity",),
        rules=("relu_capacity.smk",),
        package="rotelab.papers.relu_capacity",
    ),
    "acil": Paper(
        "P7",
        "ACIL: analytic class-incremental learning",
        "Zhuang et al., ACIL: Analytic Class-Incremental Learning with Absolute Memorization and Privacy "
        "Protection, NeurIPS 2022",
        "2205.14922",
        "docs/papers/acil.md",
        config=("acil",),
        rules=("acil.smk",),
        package="rotelab.papers.acil",
    ),
    "lira": Paper(
        "",
        "Membership inference attacks from first principles (LiRA)",
        "Carlini et al., Membership Inference Attacks From First Principles, IEEE S&P 2022",
        "2112.03570",
        "docs/papers/membership.md",
        config=("membership", "lm"),
        rules=("membership.smk", "lm_references.smk"),
        package="rotelab.membership",
    ),
    "rmia": Paper(
        "",
        "Low-cost high-power membership inference (RMIA)",
        "Zarifzadeh, Liu & Shokri, Low-Cost High-Power Membership Inference Attacks, ICML 2024",
        "2312.03262",
        "docs/papers/membership.md",
        config=("membership",),
        rules=("membership.smk",),
        package="rotelab.membership",
    ),
    "privacy_audit": Paper(
        "",
        "Privacy auditing with one training run",
        "Steinke, Nasr & Jagielski, Privacy Auditing with One (1) Training Run, NeurIPS 2023",
        "2305.08846",
        "docs/papers/lora_fl.md",
        config=("lm",),
        rules=("lm_finetune.smk",),
        package="rotelab.membership",
    ),
    "secret_sharer": Paper(
        "",
        "The Secret Sharer (exposure)",
        "Carlini et al., The Secret Sharer: Evaluating and Testing Unintended Memorization in "
        "Neural Networks, USENIX Security 2019",
        "1802.08232",
        "docs/papers/membership.md",
        config=("canaries", "scoring"),
        rules=("canaries.smk", "translation_score.smk"),
        package="rotelab.scoring",
    ),
}
