"""Styles for the chat UI's cards and panels (static CSS; no user data ever goes in here)."""

CSS = """
.rc-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; }
.rc-head { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.rc-rank { font-weight: 600; color: var(--body-text-color-subdued); }
.rc-title { font-weight: 600; font-size: 1.05em; }
.rc-year { color: var(--body-text-color-subdued); }
.rc-genres { font-size: 0.85em; color: var(--body-text-color-subdued); margin: 2px 0 4px; }
.rc-reason { margin: 0; font-size: 0.92em; }
.rc-pending { color: var(--body-text-color-subdued); }
.rc-feedback { margin-left: auto; font-size: 0.85em; padding: 0 6px; border-radius: 6px;
               background: var(--color-accent-soft); }
.rc-slot { gap: 4px !important; }
.rc-buttons button { min-width: 0 !important; }
"""
