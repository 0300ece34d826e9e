"""chatlike: from your chat exports (Telegram, WhatsApp, Discord, Instagram, Messenger) to a model
that chats like you."""

__version__ = "0.1.0"
