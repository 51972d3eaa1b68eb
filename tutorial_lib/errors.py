"""The base of every error a learner can fix: its message names the problem and the fix.

The command line prints such an error as one line (exit code 2); any other error is a bug, with its traceback.
"""


class LearnerError(Exception):
    """A problem the learner can fix (a wrong folder, a stage run out of order, a typo in a YAML file, ...);
    the message says what to do."""
