"""Code that runs inside JupyterHub's own process: the configuration an instructor includes in their hub's.

The hub runs in its own environment (TLJH's, or the admin's), not in the workbench's: nothing here imports
tutorial_lib, and nothing in tutorial_lib imports it. `airlift-tutorial hub-setup` prints the line that
includes it.
"""
