"""What every phase of bench/run.py shares: processes, the HTTP load generator, the plan."""
