"""The queries of each page, one module per page, free of Streamlit.

Each function takes the snapshot file and the viewer's ``dashboard.data.Scope`` first,
binds every value as a parameter and returns exact figures (disclosure control is the
page's last step, ``dashboard.disclose``). ``dashboard.cached`` wraps them for the pages.
"""
