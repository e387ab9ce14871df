"""Case histories in, point-in-time feature tables out (polars; no scikit-learn here)."""
