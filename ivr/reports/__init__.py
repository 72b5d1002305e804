"""`ivr report ...`: KPI reports from the store for supervisors, as text tables, CSV or plots.

window.py reads the reporting window, tables.py builds the reports from the repositories,
render.py prints them (text or CSV), plots.py draws them, cli.py is the command.
"""
