"""The one rule for user and item ids at the edge (API paths and bodies, the UI's user id box).

A conservative alphabet keeps ids printable in URLs and logs and unambiguous between the two surfaces.
"""

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$"
ID_RULE = "letters, digits and _.:@- (starting with a letter or digit, at most 128 characters)"
