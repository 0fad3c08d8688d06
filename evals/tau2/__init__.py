"""tau2-bench retail: the reference semantics (oracle) and the replay of gold actions through our tools."""

from evals.tau2.replay import ReplayReport, TaskResult, replay, replay_file

__all__ = ["ReplayReport", "TaskResult", "replay", "replay_file"]
