# The top of rules/translation_score.smk: the family's constants and functions (included there;
# snakemake --lint wants no `def` in a file with rules).
def translation_source(wildcards):
    if wildcards.split == "canaries":
        return "results/canaries/canaries.parquet"
    return f"results/data/{wildcards.split}.parquet"


def kd_corpus_if_student(wildcards):
    """A student's secondary ExMem compares against its teacher's KD output."""
    return [kd_corpus(wildcards.model)] if wildcards.model.startswith("student") else []
