"""The planner: reads the conversation and proposes commands (``agent.commands``) under a grammar."""
