"""The eval side: style metrics, lm-eval tasks (reply likelihood, regression), the blind test, the report section."""
