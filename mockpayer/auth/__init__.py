"""The mock's authorization server, built on authlib: one file per endpoint family.

- `ledger`: every code and token the mock issued, in memory, with their families and lifetimes.
- `models`: the authlib views of plan clients, codes and tokens.
- `server`: a per-plan authlib `AuthorizationServer` with the grants, PKCE and endpoints registered.
- `authorize`: the member's pages (login, MFA, consent) at `/oauth2/authorize/{system-id}`.
- `transactions`: each authorization request in progress, held server-side and used once.
- `consent`: the kinds of record the member leaves ticked, and the grant that follows.
- `scope_words`: scopes in plain words for the consent page.
- `lockout`: consecutive failed sign-ins and client authentications, and the locks they earn.
- `parameters`: the characters each OAuth parameter may hold, checked before authlib sees them.
- `client_auth`: client authentication with one method per request and the client lockout.
- `token`: `/oauth2/token`, `/oauth2/revoke`, `/oauth2/introspect`.
- `id_token`: OpenID Connect: the plan's signing key, the member's `sub` and `fhirUser`, the id_token.
- `userinfo`: `/oauth2/userinfo`.
"""
