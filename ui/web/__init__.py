"""The chat UI (Gradio): rendering, blocks and callbacks."""
