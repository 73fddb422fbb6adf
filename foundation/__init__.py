"""What every layer may import and that imports none of them: settings, errors, the catalog,
the interest profile and its merge rules, chat messages, small utilities."""
