"""A small thread-safe LRU whose entries expire: verified tokens, broker answers, catalogue
lookups. Times are whatever clock the caller uses (epoch or monotonic seconds)."""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Any


class ExpiringLru:
    """At most ``size`` entries; ``get`` returns None for missing or expired ones."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = Lock()

    def get(self, key: str, now: float) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] <= now:
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: str, expires: float, value: Any) -> None:
        with self._lock:
            self._items[key] = (expires, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
