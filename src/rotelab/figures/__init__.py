"""The figure registry and plot helpers; :mod:`rotelab.figures.catalog` imports every
family's figures."""
