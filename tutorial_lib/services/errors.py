"""The errors the services raise: what went wrong with a service, and what to do about it."""

from tutorial_lib.errors import LearnerError


class ServiceStopped(LearnerError, RuntimeError):
    """A service of the workspace stopped while something waited on it."""


class ServiceError(LearnerError, RuntimeError):
    """A service is not running, died, or failed to start; the message says what to do."""


class PortTaken(ServiceError):
    """Another program took the port chosen for a service before the service could listen on it."""
