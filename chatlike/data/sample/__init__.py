"""The bundled sample: a synthetic Telegram Desktop export of Pasquale's chats (tests/support/synth.py makes
it; scripts/make_sample_export.py writes it again), read when no source is given."""

from pathlib import Path

SAMPLE_EXPORT = Path(__file__).resolve().parent / "result.json"
