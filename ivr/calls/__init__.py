"""The application layer for a call: run the line's flow, then decide the route.

menu.py is the one use case; inbound.py serves it to a live caller over FastAGI,
simulate.py to a scripted caller (`ivr flows simulate`, the API's dry run).
"""
