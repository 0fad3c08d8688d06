"""The HTTP API's pieces: dependencies, routes and middleware; ``server.py`` assembles them.

Code that adds to a conversation's stream from outside a chat turn (a person's reply, an approval decision) calls
``await runtime.publish(conversation_id, event)`` on :class:`api.deps.Runtime`: the event is numbered, stored and
delivered to every client following the conversation.
"""
