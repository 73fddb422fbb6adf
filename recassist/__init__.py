"""recassist: a recommendation assistant people talk to.

Layers, each importing only those below it:
``recassist.ui`` → ``recassist.assistant`` → ``recassist.retrieval``, ``recassist.ranking`` →
``recassist.foundation``; ``recassist.prompts`` sits at the side (it imports only the foundation).
The ``recassist`` command (``recassist.cli``) sits on top and wires the layers' subcommands together.
"""

__version__ = "0.1.0"
