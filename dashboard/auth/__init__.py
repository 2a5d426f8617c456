"""Sign-in, sessions and the audit trail of the dashboard: who the viewer is, every rerun.

The access rules themselves are in ``smhp.access`` (roles, pages, scopes, single sign-on
mapping), local passwords and lock-out in ``smhp.access.users``, the audit log in
``smhp.access.audit``; this package wires them into Streamlit, one module per job:

==============  ==========================================================================
``request``     this rerun's clock (``now``), settings and client address
``seal``        the session kept in ``st.session_state``, its seal, the live sessions
``trail``       the audit trail: page views, record-level tables, downloads' identity, and
                what happens when the audit log cannot be written
``sso``         single sign-on (``st.login``): whether it is on, the token's claims, access
``session``     the viewer of every rerun: sessions started, checked, expired, ended
``refusals``    what is shown instead of a page: a role's refusal, no pages, a bad setting
``sign_in``     the sign-in page: the Microsoft button, the local form, one failure message
==============  ==========================================================================

They import one another in that order only (no cycles). The rules they keep:

- **Sign-in.** The local users file (``SMHP_USERS_FILE``) through a form, and, when
  ``.streamlit/secrets.toml`` has an ``[auth]`` section, "Sign in with Microsoft"
  (``st.login``) mapped to a role by ``SMHP_ACCESS_CONFIG`` on the token's immutable
  ``tid`` + ``oid`` (never its email). The form always shows a verification-code field
  (checked only for accounts with a second factor). One message for every failed
  sign-in (wrong password or code, unknown user, locked account, a limit reached), so
  the form never tells whether a username exists or has a second factor. Each attempt
  carries the client address (``request.client_address``: behind a trusted proxy, the
  address it forwards), which the sign-in limits count by and the audit log records.
- **The viewer is derived, never stored.** The session (``smhp.access.Session``) is kept
  in ``st.session_state``, but on every rerun the viewer's access is read again from the
  authoritative source (the users file for a password session, the signed identity
  cookie and the mapping file for single sign-on). A session whose stored access no
  longer matches (a user removed, a role changed, or the session state edited) is ended.
  The data scope is ``smhp.access.scope_for(access)`` of that fresh access (``session``),
  passed to every query; nothing a viewer can set (a widget, a query parameter, a
  session-state key) goes into it. The stored session is sealed (an HMAC with a key held
  by this server process only): a session edited in the session state is refused and
  ended.
- **Sessions expire** (``SMHP_SESSION_IDLE_MINUTES``, ``SMHP_SESSION_MAX_HOURS``): every
  rerun touches the session at ``now()``; an expired one is recorded and signed out.
- **Audit.** Sign-ins and failures are recorded by ``smhp.access.users.authenticate``
  itself; this package records single sign-on sign-ins, sign-outs, expiries, refusals,
  page views (when the page or its filters change), record-level tables and downloads, in
  ``SMHP_AUDIT_DB``. If the audit log cannot be written, nobody signs in and a signed-in
  viewer is signed out: health data is not shown unrecorded.

``request.now`` is the one clock of sign-in, sessions and the audit trail: every module
calls it through its module, so a test that replaces ``dashboard.auth.request.now`` ages
every session. The package re-exports nothing: an importer names the job it needs
(``trail.record_page_view``, ``session.current_viewer``).
"""
