"""The conversational layer: one `Assistant` shared by the chat CLI, the UI and the HTTP API."""

from assistant.conversation.assistant import Assistant
from assistant.conversation.models import ChatEvent, ChatReply, Evidence, OnboardingStep, RecommendedItem

__all__ = ["Assistant", "ChatEvent", "ChatReply", "Evidence", "OnboardingStep", "RecommendedItem"]
