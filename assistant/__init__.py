"""recassist: a recommendation assistant people talk to.

The `assistant` package holds the shared foundation (settings, errors, catalog,
LLM seam, interest profile) and the conversational layer built on it.
"""

__version__ = "0.1.0"
