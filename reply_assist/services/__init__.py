"""The product's rules: eligibility, generation, publishing, statistics."""
