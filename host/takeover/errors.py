"""Errors the command line reports as one readable line (never a traceback)."""


class TakeoverError(Exception):
    """Base: the message is shown to the user as is."""


class SetupError(TakeoverError):
    """Something the machine lacks: Node.js, the npm package, a board file."""


class UsageError(TakeoverError):
    """A command-line or scenario-file mistake."""


class LinkError(TakeoverError):
    """The port could not be opened, went away, or the device did not answer."""
