"""Several catalogs side by side: which one a request is for, and recommendations from the others."""
