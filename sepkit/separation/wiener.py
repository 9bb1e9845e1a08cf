"""Placeholder replaced by the WienerFilter implementation (in progress)."""


class WienerFilter:  # pragma: no cover - replaced before commit
    pass
