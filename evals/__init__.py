"""Offline evaluations of the support agent."""
