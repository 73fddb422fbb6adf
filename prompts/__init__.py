"""Prompt files (YAML), loaded and validated by `prompts.load_prompt`."""
