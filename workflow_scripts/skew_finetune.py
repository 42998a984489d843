import json

from rotelab.core.device import set_threads
from rotelab.core.io import atomic_dir, read_parquet
from rotelab.core.logs import log_to
from rotelab.data.tokenizer import load_tokenizer
from rotelab.models.seq2seq import load_model
from rotelab.papers.skew.n_pre import SkewRun, checkpoint_name, run_samples, train_with_checkpoints

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    run = SkewRun(**snakemake.params.run)
    samples = run_samples(read_parquet(snakemake.input.samples), run, snakemake.params.ratio)
    # Each sample is one training example; every epoch visits all of them once, in a fresh
    # seeded order (causal_lm.EpochOrder).
    texts = list(samples["prefix"] + samples["suffix"])
    tokenizer = load_tokenizer(snakemake.input.base)
    model = load_model(snakemake.input.base, "cpu", "AutoModelForCausalLM").train()
    print(f"run {run.name}: {samples.groupby('role').size().to_dict()} samples")
    with atomic_dir(snakemake.output[0]) as tmp:

        def save(epoch, trained):
            trained.save_pretrained(tmp / checkpoint_name(epoch), safe_serialization=True)
            tokenizer.save_pretrained(tmp / checkpoint_name(epoch))

        history = train_with_checkpoints(
            model,
            tokenizer,
            texts,
            snakemake.params.train,
            snakemake.params.epochs,
            snakemake.params.block_size,
            save,
            snakemake.params.device,
        )
        history.to_parquet(tmp / "training_log.parquet", index=False)
        (tmp / "run.json").write_text(
            json.dumps({"run": run.name, "samples": len(samples), "epochs": snakemake.params.epochs}, indent=1)
        )
