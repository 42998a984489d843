"""Every registered figure: importing this module imports each paper's figures, which
register themselves in :data:`rotelab.figures.registry.figures`. The one list of figure
families; a new paper's figures module is added here."""

from rotelab.figures.registry import MODELS, Figure, figure, figures, render
from rotelab.membership import figures as membership_figures  # noqa: F401
from rotelab.papers.acil import figures as acil_figures  # noqa: F401
from rotelab.papers.dsm import figures as dsm_figures  # noqa: F401
from rotelab.papers.lora_fl import audit_figures as lora_fl_audit_figures  # noqa: F401
from rotelab.papers.lora_fl import figures as lora_fl_figures  # noqa: F401
from rotelab.papers.onion import figures as onion_figures  # noqa: F401
from rotelab.papers.relu_capacity import figures as relu_capacity_figures  # noqa: F401
from rotelab.papers.seqkd import audit_figures as seqkd_audit_figures  # noqa: F401
from rotelab.papers.seqkd import extension_figures as seqkd_extension_figures  # noqa: F401
from rotelab.papers.seqkd import figures as seqkd_figures  # noqa: F401
from rotelab.papers.skew import figures as skew_figures  # noqa: F401

__all__ = ["MODELS", "Figure", "figure", "figures", "render"]
