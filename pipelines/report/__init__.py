"""`callhouse report`: one self-contained HTML page of charts from the `reporting` views.

queries.py reads the views for a range of local days, charts.py draws them with Plotly (its
JavaScript inlined once, so the page opens offline), page.py lays out the panels and the data
health, formatting.py writes numbers for people. The command (commands/report.py) opens the
warehouse, gathers the data health from `callhouse status` and `callhouse check`, and writes the file.
"""
