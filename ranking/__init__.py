"""Ranking: score catalog items for a user. See `ranking.base.Ranker` for the API others call.

Importing the package registers every backend in `RANKERS`.
"""

from ranking import popularity  # noqa: F401  (registers the backend)
from ranking.base import RANKERS, EncodedUser, Ranker, UserQuery

__all__ = ["RANKERS", "EncodedUser", "Ranker", "UserQuery"]
