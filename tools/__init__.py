"""Developer and CI tools that are not part of the installed packages (run with ``python -m``)."""
