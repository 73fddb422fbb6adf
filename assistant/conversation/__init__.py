"""The conversational layer: one `Assistant` shared by the chat CLI, the UI and the HTTP API."""

from recassist.assistant.conversation.assistant import Assistant
from recassist.assistant.conversation.models import ChatEvent, ChatReply, Evidence, OnboardingStep, RecommendedItem

__all__ = ["Assistant", "ChatEvent", "ChatReply", "Evidence", "OnboardingStep", "RecommendedItem"]
