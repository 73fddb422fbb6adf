"""Conversation corpora for the assistant: ReDial conversion, title mapping, export of the product's own chats,
and training / evaluating the conversation-trained layer (`recassist train conversations`)."""
