"""The data side: reading the exports (sources/), filtering, segmenting, formatting and splitting."""
