"""Intent routing by nearest neighbours over labelled example utterances."""

from agent.routing.router import Intent, IntentRouter, RouteResult

__all__ = ["Intent", "IntentRouter", "RouteResult"]
