"""Fine-tuning and evaluation of the detente classifier (``detente train``, ``detente evaluate``)."""

from .config import TrainConfig

__all__ = ["TrainConfig"]
