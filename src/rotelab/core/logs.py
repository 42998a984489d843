"""Send a stage's stdout, stderr and logging output to its log file."""

from __future__ import annotations

import contextlib
import logging
import traceback
from pathlib import Path


@contextlib.contextmanager
def log_to(path: str | None):
    """Append everything the block prints (progress bars included) to ``path``."""
    if not path:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", buffering=1) as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        handler = logging.StreamHandler(fh)
        logging.getLogger().addHandler(handler)
        try:
            yield
        except BaseException:
            # The job's stderr goes to Snakemake's console; keep the cause in the rule's log too.
            fh.write(traceback.format_exc())
            raise
        finally:
            logging.getLogger().removeHandler(handler)
