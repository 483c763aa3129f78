"""Da Vinci PDex prior authorizations.

A member's ExplanationOfBenefit resources with `use` = preauthorization, which CMS-0057-F requires in the Patient
Access API by January 2027.

Every member has one of each decision: approved (outcome complete, review action A1, an authorization number
and the period it is good for, the units allowed and used), denied (outcome complete, review action A3, the
CARC denial reason and the plan's note in plain words) and pending (outcome queued, review action A4, a note
saying what the plan waits for). Each comes from its own random stream, so claims and clinical records do
not change with them; they carry no money a page could add to a year's claims.
"""

from __future__ import annotations

import random
from datetime import timedelta

from mockpayer.generate.adjudication import money
from mockpayer.generate.claims import service_concept, unit_price
from mockpayer.generate.codes import (
    ADJUDICATION_CS,
    CARC,
    ICD10CM,
    PDEX,
    PDEX_PRIOR_AUTH_PROFILE,
    X12_REVIEW_ACTION,
    X12_SERVICE_TYPE,
    concept,
)
from mockpayer.generate.dates import REFERENCE_TODAY, instant, later
from mockpayer.generate.members import Member
from mockpayer.generate.roster import PlanContext
from mockpayer.generate.tables import PRIOR_AUTH_REQUESTS

REVIEW_ACTION = PDEX + "/StructureDefinition/extension-reviewAction"
REVIEW_ACTION_CODE = PDEX + "/StructureDefinition/extension-reviewActionCode"
WHEN_ADJUDICATED = PDEX + "/StructureDefinition/base-ext-when-adjudicated"
DISCRIMINATOR = PDEX + "/CodeSystem/PDexAdjudicationDiscriminator"
# decision -> EOB.outcome, X12 306 review action (code, display)
DECISIONS = {"approved": ("complete", ("A1", "Certified in total")),
             "denied": ("complete", ("A3", "Not Certified")),
             "pending": ("queued", ("A4", "Pended"))}
MEDICAL_NECESSITY = ("50", "These are non-covered services because this is not deemed a 'medical necessity' by the payer.")
AUTHORIZED_DAYS = 90
PENDING_NOTE = ("Waiting for your provider's office notes. The plan decides within 7 calendar days of receiving "
                "them (72 hours when your provider asks for an urgent decision).")


def prior_authorizations(plan: PlanContext, member: Member, rng: random.Random) -> list[dict]:
    """One approved, one denied and one pending request for services that fit the member's age."""
    age = member.age_on(REFERENCE_TODAY)
    choices = [key for key, request in PRIOR_AUTH_REQUESTS.items() if age >= request[7]] or ["therapy"]
    picked = rng.sample(choices, min(3, len(choices)))
    keys = (picked * 3)[:3]
    return [_prior_authorization(plan, member, rng, number, key, decision)
            for number, (key, decision) in enumerate(zip(keys, DECISIONS, strict=True), 1)]


def _prior_authorization(plan: PlanContext, member: Member, rng: random.Random, number: int, key: str,
                         decision: str) -> dict:
    code, units, claim_type, practitioner, organization, diagnosis, service_type, _, denial_note = PRIOR_AUTH_REQUESTS[key]
    outcome, (action_code, action_display) = DECISIONS[decision]
    asked_days_ago = {"approved": (12, 45), "denied": (20, 75), "pending": (1, 4)}[decision]
    asked = REFERENCE_TODAY - timedelta(days=rng.randint(*asked_days_ago))
    created = instant(asked, rng)
    decided = later(created, rng.randint(1, 6) * 24 * 60 + rng.randint(0, 240)) if decision != "pending" else None
    wanted = asked + timedelta(days=rng.randint(7, 21))
    period = {"start": wanted.isoformat(), "end": (wanted + timedelta(days=AUTHORIZED_DAYS - 1)).isoformat()}
    number_text = f"PA{asked:%y%m%d}{member.number:05d}{number:02d}"
    provider = plan.ref(organization or plan.providers[practitioner].organization_key)

    action = [{"url": REVIEW_ACTION_CODE, "valueCodeableConcept": concept(X12_REVIEW_ACTION, action_code, action_display)}]
    if decision != "pending":
        action.append({"url": "number", "valueString": number_text})
    extensions = [{"url": REVIEW_ACTION, "extension": action}]
    if decided:
        extensions.append({"url": WHEN_ADJUDICATED, "valueDateTime": decided})
    adjudication = [{"extension": extensions, "category": concept(ADJUDICATION_CS, "submitted", "Submitted Amount"),
                     "amount": money(unit_price(rng, code, None) * units)}]
    if decision == "approved":
        adjudication += [{"category": concept(DISCRIMINATOR, "allowedunits", "allowed units"), "value": units},
                         {"category": concept(DISCRIMINATOR, "consumedunits", "consumed units"), "value": 0}]
    if decision == "denied":
        adjudication.append({"category": concept(DISCRIMINATOR, "denialreason", "Denial Reason"),
                             "reason": concept(CARC, *MEDICAL_NECESSITY)})
    item = {"sequence": 1, "category": concept(X12_SERVICE_TYPE, *service_type),
            "productOrService": service_concept(code), "servicedPeriod": period, "quantity": {"value": units}}
    note = {"denied": denial_note, "pending": PENDING_NOTE}.get(decision)
    if note:
        item["noteNumber"] = [1]
    item["adjudication"] = adjudication

    resource = {
        "resourceType": "ExplanationOfBenefit",
        "id": f"{member.id}-pa{number}",
        "meta": {"lastUpdated": decided or later(created, 5), "profile": [PDEX_PRIOR_AUTH_PROFILE]},
        "identifier": [{"system": plan.identifier_system("prior-authorization"), "value": number_text}],
        "status": "active",
        "type": concept("http://terminology.hl7.org/CodeSystem/claim-type", claim_type, claim_type.capitalize()),
        "use": "preauthorization",
        "patient": member.reference,
        "billablePeriod": period,
        "created": created,
        "insurer": plan.payer_reference,
        "provider": provider,
        "priority": concept("http://terminology.hl7.org/CodeSystem/processpriority", "normal", "Normal"),
        "outcome": outcome,
    }
    if decision == "approved":
        resource["preAuthRef"] = [number_text]
        resource["preAuthRefPeriod"] = [period]
    resource["careTeam"] = [{"sequence": 1, "provider": plan.ref(practitioner), "responsible": True,
                             "role": concept("http://terminology.hl7.org/CodeSystem/claimcareteamrole", "primary",
                                             "Primary provider")}]
    resource["diagnosis"] = [{"sequence": 1, "diagnosisCodeableConcept": concept(ICD10CM, *diagnosis),
                              "type": [concept("http://terminology.hl7.org/CodeSystem/ex-diagnosistype", "principal",
                                               "Principal Diagnosis")]}]
    resource["insurance"] = [{"focal": True, "coverage": member.coverage_reference}]
    resource["item"] = [item]
    if note:
        resource["processNote"] = [{"number": 1, "type": "display", "text": note}]
    return resource

