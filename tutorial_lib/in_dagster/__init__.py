"""Code that runs inside Dagster's processes only: the code location, the login gate, the start-up hooks.

Dagster loads it by name (`-m tutorial_lib.in_dagster.code_location`, PYTHONPATH=`startup/`); nothing else
imports it.
"""
