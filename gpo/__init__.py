"""gpo: prompt optimization with LLMs, designed by analogy with gradient descent."""

__version__ = "0.1.0"
