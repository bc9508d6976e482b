"""Charts drawn from an ensemble (matplotlib, imported only when a chart is written)."""
