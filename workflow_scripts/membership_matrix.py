from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.membership.matrix import draw_matrix, to_table

with log_to(snakemake.log[0]):
    params = snakemake.params.matrix
    pool = read_parquet(snakemake.input.pool)
    ids = pool[snakemake.params.id_column]
    matrix = draw_matrix(len(pool), params["reference_models"], params["seed"])
    print(
        f"{matrix.shape[0]} models x {matrix.shape[1]} examples; training-set sizes "
        f"{matrix.sum(1).min()}-{matrix.sum(1).max()}"
    )
    write_parquet(to_table(matrix, ids), snakemake.output[0])
