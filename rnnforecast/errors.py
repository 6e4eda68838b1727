"""The one exception type for mistakes a user can fix."""


class UserError(Exception):
    """A problem in the user's config, data or command line.

    The message says what went wrong, where, and how to fix it; the CLI prints it
    without a traceback and exits with status 2.
    """


class Interrupted(Exception):
    """Training stopped by the user after a checkpoint; the message says how to resume."""
