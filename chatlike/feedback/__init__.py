"""The owner teaches the clone: draft decisions as preference data, a KTO/DPO round, its measure."""
