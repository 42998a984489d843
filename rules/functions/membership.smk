# The top of rules/membership.smk: the family's constants and functions (included there;
# snakemake --lint wants no `def` in a file with rules).
# MEMBERSHIP and membership_attack_config are in functions/lm_references.smk, which
# rules/lm_references.smk, included before rules/membership.smk, reads first.
import dataclasses
import functools

from rotelab.data.classification import classification_datasets
from rotelab.papers.onion import layers as onion


def onion_pool_inputs(wildcards):
    """Layer l of an arm starts from layer l-1 of that arm; targeted removal also reads
    that pool's vulnerability."""
    arm, _ = onion.parse_pool(wildcards.pool)
    if arm is None:
        return {}
    previous = f"results/membership/classifier/{onion.previous_pool(wildcards.pool)}"
    inputs = {
        "previous": f"{previous}/examples.parquet",
        "population": f"{previous}/population.parquet",
    }
    if arm == "targeted":
        inputs["vulnerability"] = f"{previous}/vulnerability.parquet"
    return inputs


def onion_pool_params(wildcards):
    arm, layer = onion.parse_pool(wildcards.pool)
    if arm is None:
        return {
            "dataset": MEMBERSHIP["dataset"],
            "population": MEMBERSHIP["population"],
            "seed": MEMBERSHIP["seed"],
        }
    return {
        "arm": arm,
        "layer": layer,
        "remove": MEMBERSHIP["onion"]["remove"],
        "seed": MEMBERSHIP["seed"] + layer,
    }


@functools.cache
def membership_data_shape():
    """(examples, features, classes) of the membership dataset, loaded once per run."""
    data = classification_datasets.get(MEMBERSHIP["dataset"])()
    return len(data.labels), data.features.shape[1], data.n_classes


def classifier_ensemble_training(n_models):
    """Resources of K reference MLPs on the membership dataset, trained as one ensemble."""
    n_examples, n_features, n_classes = membership_data_shape()
    classifier = MEMBERSHIP["classifier"]
    return estimate.ensemble_training(
        n_models,
        n_examples,
        n_features,
        classifier["hidden"],
        n_classes,
        classifier["epochs"],
        ON_GPU,
        THREADS,
    )


@sized_by("membership.reference_models", "membership.classifier.hidden")
def reference_training_job(wildcards):
    return classifier_ensemble_training(MEMBERSHIP["reference_models"])


@sized_by("membership.sweep.models", "membership.classifier.hidden")
def reference_sweep_job(wildcards):
    """The sweep trains its ensembles one after another: the largest sets the memory, all of
    them the runtime."""
    sizes = MEMBERSHIP["sweep"]["models"]
    largest = classifier_ensemble_training(max(sizes))
    return dataclasses.replace(
        largest, runtime=classifier_ensemble_training(sum(sizes)).runtime
    )
