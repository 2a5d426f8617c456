"""PDF packs of the published figures (issue 11): the board pack, a service-manager pack per
institution and the funder pack, rendered after every nightly run that publishes.

One job per module: ``content`` says what each pack holds, built only through the
dashboard's scoped query functions with the viewer's ``Scope`` (never a second SQL path);
``charts`` turns the dashboard's plotly figures into SVG with one headless browser per run;
``html`` writes the HTML and CSS; ``render`` makes the tagged PDFs (WeasyPrint, PDF/UA-1)
and the manifest; ``store`` says where packs live (beside their snapshot, pruned with it);
``nightly`` is the nightly run's add-on hook.
"""
