"""The support agent: a LangGraph state machine over a local model, tools, knowledge and guardrails."""
