"""chatlike: from a Telegram export to a model that chats like you."""

__version__ = "0.1.0"
