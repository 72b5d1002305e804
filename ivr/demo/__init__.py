"""`make demo`: the product tour on the sandbox (tour.py), its queues and its dashboard."""
