"""Prompt assembly: windows around the cursor, token budgets, snippet sources and FIM templates."""
