"""So that every generated record names code systems and profiles the same way.

Code system and profile URLs the generated records use (CARIN BB 2.0.0, US Core, Plan-Net, US Drug
Formulary, CMS Blue Button 2.0, terminologies), and the Coding and CodeableConcept shapes built from them."""

from __future__ import annotations

CARIN = "http://hl7.org/fhir/us/carin-bb"
CARIN_PROFILE = CARIN + "/StructureDefinition/{}|2.0.0"
US_CORE_PROFILE = "http://hl7.org/fhir/us/core/StructureDefinition/{}"
PLAN_NET_PROFILE = "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/{}"
PLAN_NET_CS = "http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/{}"
USDF = "http://hl7.org/fhir/us/davinci-drug-formulary"
ADJUDICATION_CS = "http://terminology.hl7.org/CodeSystem/adjudication"
C4BB_ADJUDICATION_CS = CARIN + "/CodeSystem/C4BBAdjudication"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
CDT = "http://www.ada.org/cdt"
NDC = "http://hl7.org/fhir/sid/ndc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CVX = "http://hl7.org/fhir/sid/cvx"
NUCC = "http://nucc.org/provider-taxonomy"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
REVENUE_CS = "https://www.nubc.org/CodeSystem/RevenueCodes"
MS_DRG = "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software"
PLACE_OF_SERVICE = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
PDEX = "http://hl7.org/fhir/us/davinci-pdex"
PDEX_PRIOR_AUTH_PROFILE = PDEX + "/StructureDefinition/pdex-priorauthorization"
X12_SERVICE_TYPE = "https://x12.org/codes/service-type-codes"
X12_REVIEW_ACTION = "https://codesystem.x12.org/005010/306"
CARC = "https://x12.org/codes/claim-adjustment-reason-codes"
PCT_FINANCIAL_TYPE = "http://hl7.org/fhir/us/davinci-pct/CodeSystem/PCTFinancialType"
OBSERVATION_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CLAIM_TYPE_CS = "http://terminology.hl7.org/CodeSystem/claim-type"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
# CMS Blue Button 2.0: its CARIN BB profiles carry no version; each CCW variable is a code system and an
# extension URL of its own, and the adjudication, benefit-balance and information code systems code a
# variable by its URL.
CARIN_PROFILE_UNVERSIONED = CARIN + "/StructureDefinition/{}"
BB_VARIABLES = "https://bluebutton.cms.gov/resources/variables/"
BB_CODESYSTEM = "https://bluebutton.cms.gov/resources/codesystem/"
BB_HCPCS = BB_CODESYSTEM + "hcpcs"
BB_CLAIM_GROUP = "https://bluebutton.cms.gov/resources/identifier/claim-group"
MBI_SYSTEM = "http://hl7.org/fhir/sid/us-mbi"


def coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, "display": display} if display else {"system": system, "code": code}


def concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict:
    result = {"coding": [coding(system, code, display)]}
    if text:
        result["text"] = text
    return result
