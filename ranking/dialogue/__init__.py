"""Learning from conversations: the corpus format, scorers trained on it, and the learned ranking layer.

Everything here works on catalog ids: names are mapped to items by the caller (the assistant layer owns the
title matcher) and passed in as a `resolve_title` function.
"""
