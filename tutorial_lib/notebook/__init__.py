"""What the notebook kernel runs: the Workbench, each stage's proofs, views and links.

Imported by the stage notebooks (through `tutorial_lib`'s flat names), and by the command line's
`reset --stage`.
"""
