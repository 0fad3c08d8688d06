"""Multi-turn tasks: identity checks, filling a tool call's arguments, and the customer's confirmation."""
