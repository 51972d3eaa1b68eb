"""Dagster definitions of each tutorial stage; `current` serves the one the workspace has selected."""
