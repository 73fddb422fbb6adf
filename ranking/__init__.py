"""Ranking: score catalog items for a user. See `ranking.base.Ranker` for the API others call.

Importing the package registers every backend in `RANKERS`:
popularity, itemknn, ease, count-blend (numpy), als (implicit, optional) and sasrec (the trained torch model).
"""

from recassist.ranking import als, count_blend, ease, itemknn, popularity, sasrec  # noqa: F401  (registers the backends)
from recassist.ranking.base import RANKERS, EncodedUser, Ranker, UserQuery
from recassist.ranking.serving import default_checkpoint, load_default_ranker
from recassist.ranking.storage import CheckpointError

__all__ = [
    "RANKERS", "CheckpointError", "EncodedUser", "Ranker", "UserQuery", "default_checkpoint",
    "load_default_ranker",
]
