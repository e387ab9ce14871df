"""The trained champion of the serving tests, for the notebooks that retrain and promote."""

from tests.serving.conftest import trained

__all__ = ["trained"]
