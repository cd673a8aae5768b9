"""The phases of bench/run.py, one module each."""
