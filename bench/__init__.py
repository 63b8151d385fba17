"""altbench: a benchmark harness for active learning × transfer learning."""

__version__ = "0.1.0"
