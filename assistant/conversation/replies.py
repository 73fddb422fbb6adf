"""Fixed sentences the assistant says (UI text, not LLM prompts)."""

OUT_OF_SCOPE = ("I can only help with movie recommendations from this catalog. Tell me a movie you liked, "
                "a genre, or a mood, and I'll suggest something.")
EMPTY = "Tell me what you feel like watching: a movie you loved, a genre, a mood, or a time period."
GREETING = "Hi! Tell me a movie you loved or what you're in the mood for, and I'll find something for you."
NOTHING_FOUND = ("I couldn't find anything that fits all your limits. Try removing a constraint from your "
                 "profile, or tell me something else you like.")
NO_REFERENCE = "Which one do you mean? Say its title or its position, like \"the second one\"."
UNDO_NOTHING = "There is nothing to undo."
