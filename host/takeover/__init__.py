"""Host bench for the takeover-alert firmware: scenarios, closed loop, latency, reports."""

__version__ = "0.1.0"
