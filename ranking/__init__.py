"""Ranking: score catalog items for a user. See `ranking.base.Ranker` for the API others call.

Importing the package registers the backends that need no torch in `RANKERS`: popularity, itemknn,
ease, count-blend (numpy) and als (implicit, optional). sasrec (the trained torch model) registers when
`recassist.ranking.sasrec` is imported (training and evaluation do): a server scores the trained model
without torch (`ranking.sasrec_numpy`), and importing torch costs seconds.
"""

from recassist.ranking import als, count_blend, ease, itemknn, popularity  # noqa: F401  (registers the backends)
from recassist.ranking.base import RANKERS, EncodedUser, Ranker, UserQuery
from recassist.ranking.serving import default_checkpoint, load_default_ranker
from recassist.ranking.storage import CheckpointError

__all__ = [
    "RANKERS", "CheckpointError", "EncodedUser", "Ranker", "UserQuery", "default_checkpoint",
    "load_default_ranker",
]
