"""CMS Blue Button 2.0 (https://bluebutton.cms.gov), the Patient Access API of Medicare.

A `bluebutton` plan answers its URL shapes, scopes, paging and errors, over the same plan folder, ledger and
authorization server as every other plan (mockpayer/auth/), so that CMS's own SDK and an app written for Blue Button
work against the mock.

Paths, at `/{system-id}/v2/...` and, for the one plan a mock serves (`mockpayer serve --plan ID`) or a plan
addressed by its host name, at `/v2/...`:
- `oauth`: `/v2/o/authorize/`, `/v2/o/token/`, `/v2/o/revoke_token/`, `/v2/o/introspect/`;
- `fhir`: `/v2/fhir/Patient`, `Coverage` and `ExplanationOfBenefit`, read and search;
- `discovery`: `/v2/fhir/metadata`, `/v2/fhir/.well-known/smart-configuration` and
  `/v2/connect/.well-known/openid-configuration`;
- `userinfo`: `/v2/connect/userinfo`.
And their rules:
- `scopes`: the scopes Blue Button grants and what each opens;
- `access`: the bearer token of a request and its scope's reach, refused as Blue Button refuses;
- `query`: the search parameters Blue Button takes and how it checks them;
- `paging`: `startIndex` and `_count`, and the `first`/`next`/`previous`/`last` links;
- `samhsa`: the claims `excludeSAMHSA=true` leaves out;
- `errors`: Blue Button's error bodies;
- `faults`: QA fault injection on its FHIR API, its pages and its refusals;
- `urls`: where the paths start as the request saw them, and the routes that answer both.
"""
