"""Writing drafts: prompts, token budgets, language, the model and the built-in templates."""
