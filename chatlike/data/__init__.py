"""The data side: reading, filtering, segmenting, formatting and splitting a Telegram export."""
