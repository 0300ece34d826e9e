"""The one user-facing error: the entry point prints its message as one line and exits 1."""


class ChatlikeError(Exception):
    """A problem the user can act on; the message names the file or key and what to do."""
