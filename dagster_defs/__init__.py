"""The Dagster definitions of each tutorial stage, as a learner writes them (no workbench imports)."""
