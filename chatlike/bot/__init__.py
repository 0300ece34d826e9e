"""The clone in Telegram: a bot that answers allowed people as the persona, through the served model."""
