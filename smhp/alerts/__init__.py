"""Alerts after every nightly run: the right people hear of a concern the morning it shows.

One job per module: ``rules`` (the one settings file, ``config/alerts.toml``), ``signals``
(what the published warehouse shows now), ``state`` (which signals were already told to
whom), ``message`` (an email per signal and recipient), ``delivery`` (the outbox folder or
SMTP, every send audited), ``nightly`` (the add-on of ``smhp.pipeline.addons``) and ``cli``
(``smhp alerts [--dry-run]``). docs/operations.md ("Alerts") describes them for operators.
"""
