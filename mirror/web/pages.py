"""The pages a patient reads at `/`.

Their plans, claims in plain words, coverage, clinical records, and any single record with its raw JSON, provenance
and history.

Pages render on the server and need no JavaScript; Jinja escapes every value from the payer, and narrative
XHTML (`text.div`) is never rendered. Nothing is loaded from outside the machine.
"""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Mapping

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from mirror.fhir.ids import is_valid_id
from mirror.fhir.validation import is_resource_type
from mirror.sync.http import display_url
from mirror.sync.status import plan_statuses
from mirror.web.balances import benefit_progress, shown_bars
from mirror.web.changes import change_lines
from mirror.web.claims import (KIND_LABELS, PRIOR_AUTHORIZATION, eob_use, held_claims, is_counted, line_summaries,
                               resolver, summarize)
from mirror.web.held import left_out
from mirror.web.kinds import REQUESTS, counted_kinds, kind_of, page_of
from mirror.web.labs import lab_sections
from mirror.web.medications import drugs
from mirror.web.money import dollars, yearly_totals
from mirror.web.priorauth import prior_authorizations
from mirror.web.readable import day, local_time, resource_name, simplified
from mirror.web.records import CLINICAL_SECTIONS, clinical_entry, coverage_summary
from mirror.web.visits import timeline

blueprint = Blueprint("web", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/static/web")
blueprint.add_app_template_filter(local_time)
blueprint.add_app_template_filter(day)
blueprint.add_app_template_filter(dollars)

SHOWN_CHANGES = 20


UNLOCK_COOKIE = "mirror_unlock"
OPEN_ENDPOINTS = frozenset({"web.unlock", "web.static"})


def is_unlocked(token: str) -> bool:
    """Whether this browser went through the unlock form with the token `mirror serve --token` asks for."""
    held = request.cookies.get(UNLOCK_COOKIE, "")
    return bool(held) and hmac.compare_digest(held.encode("utf-8"), _unlock_proof(token).encode("utf-8"))


def _unlock_proof(token: str) -> str:
    """So that a cookie jar that is read never hands out the API's Bearer token.

    What the cookie holds: a MAC of the token under this server run's secret, never the token itself, so a
    read cookie jar does not hand out the API's Bearer token (and a restart locks the pages again)."""
    return hmac.new(current_app.config["SECRET_KEY"], token.encode("utf-8"), "sha256").hexdigest()


@blueprint.route("/unlock", methods=["GET", "POST"])
def unlock():
    """Where a browser gives the token once; an HttpOnly, same-site cookie carries it from then on."""
    token = current_app.extensions.get("mirror.api_token")
    if token is None:
        return redirect(url_for("web.home"), 303)
    if request.method == "GET":
        return render_template("web/unlock.html", message="")
    given = request.form.get("token", "")
    if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
        return render_template("web/unlock.html", message="That is not this mirror's token."), 401
    response = redirect(url_for("web.home"), 303)
    response.set_cookie(UNLOCK_COOKIE, _unlock_proof(token), httponly=True, samesite="Strict",
                        secure=request.is_secure)
    return response


def _store():
    return current_app.extensions["mirror.store"]


def _resolver(source: str):
    return resolver(_store(), source)


def _sources() -> list[str]:
    return _store().sources()


def _known_source(source: str) -> str:
    if source not in _sources():
        abort(404)
    return source


@blueprint.after_request
def page_headers(response):
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@blueprint.route("/")
def home():
    """Each plan: its member, the last sync and how it ended, the sign-in's health, counts, what changed."""
    store = _store()
    served = [rule.rule for rule in current_app.url_map.iter_rules()]
    plans = []
    for status in plan_statuses(store.path.parent, store):
        source, last = status["name"], status["last_sync"]
        patients = [stored.resource() for stored in store.search("Patient", source=source)]
        requests = Counter(REQUESTS[use] for use in (eob_use(stored.resource())
                                                      for stored in store.search("ExplanationOfBenefit", source=source))
                           if use in REQUESTS)
        changes = change_lines(store.changes(run_id=last["run_id"], source=source), _resolver(source)) if last else []
        plans.append({
            **status,
            "member": ", ".join(filter(None, (resource_name(p) for p in patients))) or (
                "Unknown member" if patients else "details not shared with this app"),
            "kinds": [(kind, count, page_of(kind, served))
                      for kind, count in counted_kinds(status["counts"], requests)],
            "changes": changes[:SHOWN_CHANGES],
            "more_changes": max(len(changes) - SHOWN_CHANGES, 0),
        })
    return render_template("web/home.html", plans=plans)


@blueprint.route("/claims")
def claims():
    """So that a patient can find a claim by year, kind and provider and see the year's totals.

    Every claim held, filtered by year, kind and provider, with the year's totals and the deductible and
    out-of-pocket bars of the year chosen (the latest year's when none is)."""
    year, kind, provider = request.args.get("year", ""), request.args.get("kind", ""), request.args.get("provider", "")
    if year and not (len(year) == 4 and year.isascii() and year.isdigit()):
        return render_template("web/error.html", heading="That is not a year",
                               advice="Choose a year such as 2024 from the list on the claims page.", status=400), 400
    every_claim = held_claims(_store(), _sources())
    shown = [(source, claim) for source, claim in every_claim
             if (not year or str(claim.year) == year) and (not kind or claim.kind == kind)
             and (not provider or claim.provider == provider)]
    out_of_network_years = {claim.year for _, claim in every_claim if claim.network == "out-of-network" and claim.year}
    progress = benefit_progress(_store(), _sources())
    return render_template(
        "web/claims.html", claims=shown, totals=yearly_totals((claim.year, claim.money) for _, claim in shown),
        progress=shown_bars(progress, int(year) if year else None, out_of_network_years),
        other_bar_years=not year and len({bar.year for bar in progress}) > 1,
        years=sorted({claim.year for _, claim in every_claim if claim.year}, reverse=True),
        providers=sorted({claim.provider for _, claim in every_claim}),
        kinds={key: label for key, label in KIND_LABELS.items() if key in {claim.kind for _, claim in every_claim}},
        chosen={"year": year, "kind": kind, "provider": provider},
    )


@blueprint.route("/claims/<source>/<claim_id>")
def claim(source: str, claim_id: str):
    """So that each claim has its page and a request is never dressed as a claim.

    A claim's page; a request that is no claim is sent to where it is told (a prior authorization to its
    place on the prior authorizations page, an estimate to its record's page), never dressed as a claim."""
    stored = _stored_or_404(source, "ExplanationOfBenefit", claim_id)
    eob = stored.resource()
    use = eob_use(eob)
    if use == PRIOR_AUTHORIZATION and not stored.removed and not left_out(eob):
        return redirect(url_for("web.prior_auths", _anchor=f"auth-{source}-{claim_id}"), 303)
    if use in REQUESTS:
        return redirect(url_for("web.resource", source=source, resource_type="ExplanationOfBenefit",
                                resource_id=claim_id), 303)
    return render_template("web/claim.html", source=source, claim=summarize(eob, _resolver(source)),
                           lines=line_summaries(eob), stored=stored, counted=is_counted(eob))


@blueprint.route("/coverage")
def coverage():
    found = [(source, coverage_summary(stored.resource(), _resolver(source)))
             for source in _sources() for stored in _store().search("Coverage", source=source)]
    return render_template("web/coverage.html", coverages=found)


@blueprint.route("/records")
def records():
    sections = []
    for resource_type, title in CLINICAL_SECTIONS.items():
        entries = [(source, clinical_entry(stored.resource()))
                   for source in _sources() for stored in _store().search(resource_type, source=source)]
        entries.sort(key=lambda pair: pair[1].when or "", reverse=True)
        sections.append({"title": title, "entries": entries})
    return render_template("web/records.html", sections=sections)


def _held(*resource_types: str) -> list[tuple[str, Mapping]]:
    """(source, resource) for every record of these types the plans still have (removed ones are left out)."""
    return [(source, stored.resource()) for source in _sources() for resource_type in resource_types
            for stored in _store().search(resource_type, source=source)]


@blueprint.route("/labs")
def labs():
    return render_template("web/labs.html", sections=lab_sections(_held("Observation")))


@blueprint.route("/visits")
def visits():
    return render_template("web/visits.html", events=timeline(_held("Encounter", "Procedure"), _resolver))


@blueprint.route("/medications")
def medications():
    found = drugs(_held("ExplanationOfBenefit"), _held("MedicationDispense"), _held("MedicationRequest"), _resolver)
    return render_template("web/medications.html", drugs=found)


@blueprint.route("/prior-authorizations")
def prior_auths():
    return render_template("web/prior_authorizations.html",
                           authorizations=prior_authorizations(_held("ExplanationOfBenefit"), _resolver))


@blueprint.route("/resource/<source>/<resource_type>/<resource_id>")
def resource(source: str, resource_type: str, resource_id: str):
    stored = _stored_or_404(source, resource_type, resource_id)
    parsed = stored.resource()
    readable = simplified({key: value for key, value in parsed.items()
                           if key not in ("resourceType", "id", "meta", "text", "contained")})
    history = _store().history(source, resource_type, resource_id)
    return render_template("web/resource.html", stored=stored, source=source, fields=readable,
                           request_url=display_url(stored.request_url) if stored.request_url else None,
                           name=resource_name(parsed), kind=kind_of(resource_type, parsed), history=history,
                           has_narrative=isinstance(parsed.get("text"), Mapping))


def _stored_or_404(source: str, resource_type: str, resource_id: str):
    _known_source(source)
    if not is_resource_type(resource_type) or not is_valid_id(resource_id):
        abort(404)
    stored = _store().get(source, resource_type, resource_id)
    if stored is None:
        abort(404)
    return stored
