"""What the Airflow UI shows and the per-run report holds, built from the ``mw_*`` tables.

Airflow-free on purpose (the plugin in ``modelwatch.airflow.ui_plugin`` only routes requests here):
``queries`` reads the tables, ``charts`` draws inline SVG, ``pages`` renders the overview, model and
run pages, ``report`` renders and stores the self-contained HTML report of one window. Every page is
plain server-rendered HTML with inline SVG and a few lines of inline script, so it needs no
network, no JavaScript bundle and no build step, and a report is a few hundred kilobytes at most.
"""
