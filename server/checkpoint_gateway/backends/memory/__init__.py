"""``memory://``: checkpoints in this process's memory; for tests and throwaway runs.

Every primitive runs without awaiting, so each is atomic on the event loop: no locks.
"""

from .store import MemoryStore

__all__ = ["MemoryStore"]
