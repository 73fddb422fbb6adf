"""The one place library errors become command-line messages and exit codes.

Exit codes: 0 ok, 1 unexpected failure, 2 the caller's input/config was wrong,
3 a backend (LLM, vector store) failed, 130 interrupted.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from recassist.foundation.errors import BackendError, InputError, RecassistError


def run_command(call: Callable[[], int | None]) -> int:
    """Run a command body; library errors become messages on stderr and exit codes."""
    try:
        return int(call() or 0)
    except InputError as e:
        print(f"recassist: {e}", file=sys.stderr)
        return 2
    except BackendError as e:
        print(f"recassist: a backend failed: {e}", file=sys.stderr)
        return 3
    except RecassistError as e:
        print(f"recassist: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("recassist: interrupted", file=sys.stderr)
        return 130


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))
