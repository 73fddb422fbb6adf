"""The surfaces: HTTP API (FastAPI, `ui.api`) and chat UI (Gradio, `ui.web`), served by one app (`ui.app`)."""
