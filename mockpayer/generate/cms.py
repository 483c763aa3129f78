"""CMS Blue Button 2.0 shapes, written as Blue Button's server (CMS's Beneficiary FHIR Data, BFD) writes them.

The CCW variables (`https://bluebutton.cms.gov/resources/variables/...`) as codings, extensions, adjudications,
supporting information and benefit-balance entries, and BFD's timestamps and synthetic identifiers.

An amount is coded twice, as BFD does: by its CARIN Blue Button category (the HL7 `adjudication` code system or
CARIN's `C4BBAdjudication`) and by its CMS variable in the `.../codesystem/adjudication` system, whose code is
the variable's URL. Money is written as CMS writes it: a decimal with at least one place (`10000.0`, `37.5`).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timezone

from mockpayer.generate.adjudication import money
from mockpayer.generate.codes import (
    ADJUDICATION_CS,
    BB_CODESYSTEM,
    BB_VARIABLES,
    C4BB_ADJUDICATION_CS,
    CARIN,
    coding,
)

# CARIN BB adjudication categories BFD codes beside a CMS variable: key -> (system, code, display).
CARIN_CATEGORIES = {
    "submitted": (ADJUDICATION_CS, "submitted", "Submitted Amount"),
    "eligible": (ADJUDICATION_CS, "eligible", "Eligible Amount"),
    "deductible": (ADJUDICATION_CS, "deductible", "Deductible"),
    "benefit": (ADJUDICATION_CS, "benefit", "Benefit Amount"),
    "coinsurance": (C4BB_ADJUDICATION_CS, "coinsurance", "Co-insurance"),
    "noncovered": (C4BB_ADJUDICATION_CS, "noncovered", "Noncovered"),
    "priorpayerpaid": (C4BB_ADJUDICATION_CS, "priorpayerpaid", "Prior payer paid"),
    "paidtoprovider": (C4BB_ADJUDICATION_CS, "paidtoprovider", "Paid to provider"),
    "paidtopatient": (C4BB_ADJUDICATION_CS, "paidtopatient", "Paid to patient"),
    "paidbypatient": (C4BB_ADJUDICATION_CS, "paidbypatient", "Paid by patient"),
    "discount": (C4BB_ADJUDICATION_CS, "discount", "Discount"),
    "drugcost": (C4BB_ADJUDICATION_CS, "drugcost", "Drug Cost"),
}
# The CCW variables the generated records use, with the label CMS's codebook gives each.
VARIABLE_LABELS = {
    "carr_clm_cash_ddctbl_apld_amt": "Carrier Claim Cash Deductible Applied Amount (sum of all line-level deductible amounts)",
    "nch_clm_prvdr_pmt_amt": "NCH Claim Provider Payment Amount",
    "nch_clm_bene_pmt_amt": "NCH Claim Payment Amount to Beneficiary",
    "nch_carr_clm_sbmtd_chrg_amt": "NCH Carrier Claim Submitted Charge Amount (sum of all line-level submitted charges)",
    "nch_carr_clm_alowd_amt": "NCH Carrier Claim Allowed Charge Amount (sum of all line-level allowed charges)",
    "clm_tot_chrg_amt": "Claim Total Charge Amount",
    "line_nch_pmt_amt": "Line NCH Medicare Payment Amount",
    "line_bene_pmt_amt": "Line Payment Amount to Beneficiary",
    "line_prvdr_pmt_amt": "Line Provider Payment Amount",
    "line_bene_ptb_ddctbl_amt": "Line Beneficiary Part B Deductible Amount",
    "line_bene_prmry_pyr_pd_amt": "Line Primary Payer (if not Medicare) Paid Amount",
    "line_coinsrnc_amt": "Line Beneficiary Coinsurance Amount",
    "line_sbmtd_chrg_amt": "Line Submitted Charge Amount",
    "line_alowd_chrg_amt": "Line Allowed Charge Amount",
    "line_prmry_alowd_chrg_amt": "Line Primary Payer Allowed Charge Amount",
    "line_dme_prchs_price_amt": "Line DME Purchase Price Amount",
    "rev_cntr_rate_amt": "Revenue Center Rate Amount",
    "rev_cntr_tot_chrg_amt": "Revenue Center Total Charge Amount",
    "rev_cntr_ncvrd_chrg_amt": "Revenue Center Non-Covered Charge Amount",
    "rev_cntr_blood_ddctbl_amt": "Revenue Center Blood Deductible Amount",
    "rev_cntr_cash_ddctbl_amt": "Revenue Center Cash Deductible Amount",
    "rev_cntr_coinsrnc_wge_adjstd_c": "Revenue Center Coinsurance/Wage Adjusted Coinsurance Amount",
    "rev_cntr_rdcd_coinsrnc_amt": "Revenue Center Reduced Coinsurance Amount",
    "rev_cntr_1st_msp_pd_amt": "Revenue Center 1st Medicare Secondary Payer (MSP) Paid Amount",
    "rev_cntr_2nd_msp_pd_amt": "Revenue Center 2nd Medicare Secondary Payer (MSP) Paid Amount",
    "rev_cntr_prvdr_pmt_amt": "Revenue Center (Medicare) Provider Payment Amount",
    "rev_cntr_bene_pmt_amt": "Revenue Center Payment Amount to Beneficiary",
    "rev_cntr_ptnt_rspnsblty_pmt": "Revenue Center Patient Responsibility Payment Amount",
    "rev_cntr_pmt_amt_amt": "Revenue Center (Medicare) Payment Amount",
    "nch_profnl_cmpnt_chrg_amt": "Professional Component Charge Amount",
    "nch_bene_ptb_ddctbl_amt": "NCH Beneficiary Part B Deductible Amount",
    "nch_bene_ptb_coinsrnc_amt": "NCH Beneficiary Part B Coinsurance Amount",
    "clm_op_prvdr_pmt_amt": "Claim Outpatient Provider Payment Amount",
    "clm_op_bene_pmt_amt": "Claim Outpatient Payment Amount to Beneficiary",
    "nch_bene_blood_ddctbl_lblty_am": "NCH Beneficiary Blood Deductible Liability Amount",
    "prpayamt": "NCH Primary Payer (if not Medicare) Claim Paid Amount",
    "clm_pass_thru_per_diem_amt": "Claim Pass Thru Per Diem Amount",
    "clm_tot_pps_cptl_amt": "Claim Total PPS Capital Amount",
    "bene_tot_coinsrnc_days_cnt": "Beneficiary Total Coinsurance Days Count",
    "clm_non_utlztn_days_cnt": "Claim Medicare Non Utilization Days Count",
    "nch_bene_ip_ddctbl_amt": "NCH Beneficiary Inpatient (or other Part A) Deductible Amount",
    "nch_bene_pta_coinsrnc_lblty_amt": "NCH Beneficiary Part A Coinsurance Liability Amount",
    "nch_ip_ncvrd_chrg_amt": "NCH Inpatient(or other Part A) Non-covered Charge Amount",
    "nch_ip_tot_ddctn_amt": "NCH Inpatient (or other Part A) Total Deductible/Coinsurance Amount",
    "nch_drg_outlier_aprvd_pmt_amt": "NCH DRG Outlier Approved Payment Amount",
    "clm_utlztn_day_cnt": "Claim Medicare Utilization Day Count",
    "bene_lrd_used_cnt": "Beneficiary Medicare Lifetime Reserve Days (LRD) Used Count",
    "cvrd_d_plan_pd_amt": "Amount paid by Part D plan for the PDE (drug is covered by Part D)",
    "gdc_blw_oopt_amt": "Gross Drug Cost Below Part D Out-of-Pocket Threshold (GDCB)",
    "gdc_abv_oopt_amt": "Gross Drug Cost Above Part D Out-of-Pocket Threshold (GDCA)",
    "ptnt_pay_amt": "Amount Paid by Patient",
    "othr_troop_amt": "Other True Out-of-Pocket (TrOOP) Amount",
    "lics_amt": "Amount paid for the PDE by Part D low income subsidy",
    "plro_amt": "Reduction in patient liability due to payments by other payers (PLRO)",
    "tot_rx_cst_amt": "Total drug cost (Part D)",
    "rptd_gap_dscnt_num": "Gap Discount Amount",
    "nch_wkly_proc_dt": "NCH Weekly Claim Processing Date",
    "nch_ptnt_stus_ind_cd": "NCH Patient Status Indicator Code",
    "clm_ip_admsn_type_cd": "Claim Inpatient Admission Type Code",
    "clm_src_ip_admsn_cd": "Claim Source Inpatient Admission Code",
    "clm_drg_cd": "Claim Diagnosis Related Group Code (or MS-DRG Code)",
    "clm_mco_pd_sw": "Claim MCO Paid Switch",
    "nch_prmry_pyr_cd": "NCH Primary Payer Code (if not Medicare)",
    "clm_hha_tot_visit_cnt": "Claim HHA Total Visit Count",
    "clm_hha_rfrl_cd": "Claim HHA Referral Code",
    "drug_cvrg_stus_cd": "Drug Coverage Status Code",
    "daw_prod_slctn_cd": "Dispense as Written (DAW) Product Selection Code",
    "ptnt_rsdnc_cd": "Patient Residence Code",
}
CARIN_SUPPORTING_INFO = CARIN + "/CodeSystem/C4BBSupportingInfoType"
CARIN_IDENTIFIER_TYPE = CARIN + "/CodeSystem/C4BBIdentifierType"
INFORMATION = ("http://terminology.hl7.org/CodeSystem/claiminformationcategory", "info", "Information")


def variable(name: str) -> str:
    return BB_VARIABLES + name


def cms_coding(name: str, code: str, display: str | None = None) -> dict:
    """A code of a CCW variable, whose code system is the variable's own URL."""
    return coding(variable(name), code, display)


def cms_concept(name: str, code: str, display: str | None = None) -> dict:
    return {"coding": [cms_coding(name, code, display)]}


def coded_extension(name: str, code: str, display: str | None = None) -> dict:
    return {"url": variable(name), "valueCoding": cms_coding(name, code, display)}


def identifier_extension(name: str, value: str) -> dict:
    return {"url": variable(name), "valueIdentifier": {"system": variable(name), "value": value}}


def variable_coding(code_system: str, name: str) -> dict:
    """A CCW variable named in one of Blue Button's code systems (adjudication, benefit-balance, information)."""
    return coding(BB_CODESYSTEM + code_system, variable(name), VARIABLE_LABELS[name])


def amount(carin: str | None, name: str, cents: int) -> dict:
    """An adjudication (or total) coded by its CARIN category, when BFD gives one, and by its CMS variable."""
    codings = [coding(*CARIN_CATEGORIES[carin])] if carin else []
    return {"category": {"coding": codings + [variable_coding("adjudication", name)]}, "amount": money(cents)}


def financial(name: str, cents: int | None = None, count: int | None = None) -> dict:
    """A benefit-balance entry, where BFD files a claim's CMS amounts (usedMoney) and day counts."""
    entry = {"type": {"coding": [variable_coding("benefit-balance", name)]}}
    if count is not None:
        entry["usedUnsignedInt"] = count
    else:
        entry["usedMoney"] = money(cents)
    return entry


def benefit_balance(entries: list[dict]) -> list[dict]:
    return [{"category": {"coding": [coding("http://terminology.hl7.org/CodeSystem/ex-benefitcategory", "1",
                                            "Medical Care")]},
             "financial": entries}]


def information(name: str, carin: tuple[str, str] | None = None, **value) -> dict:
    """So that supportingInfo entries are coded as BFD codes them.

    A supportingInfo entry (sequence set later): a CARIN category where BFD uses one, else "info" and the
    variable; `clmrecvddate` carries the variable too, as BFD codes the weekly processing date."""
    codings = [coding(CARIN_SUPPORTING_INFO, *carin)] if carin else [coding(*INFORMATION)]
    if name and (not carin or carin[0] == "clmrecvddate"):
        codings.append(variable_coding("information", name))
    return {"category": {"coding": codings}} | value


def numbered(entries: list[dict]) -> list[dict]:
    return [{"sequence": sequence} | entry for sequence, entry in enumerate(entries, 1)]


def npi_identifier(npi: str) -> dict:
    return {"type": {"coding": [coding(CARIN_IDENTIFIER_TYPE, "npi", "National Provider Identifier")]}, "value": npi}


def npi_party(npi: str, display: str) -> dict:
    """A provider named by NPI alone, as Blue Button names them (it serves no Practitioner or Organization)."""
    return {"identifier": npi_identifier(npi), "display": display}


def bfd_instant(day: date, rng: random.Random) -> str:
    """An instant as BFD writes `meta.lastUpdated`: UTC, milliseconds, `+00:00`."""
    moment = datetime.combine(day, time(rng.randrange(24), rng.randrange(60), rng.randrange(60),
                                        rng.randrange(1000) * 1000), timezone.utc)
    return moment.isoformat(timespec="milliseconds")


def synthetic_id(base: int, offset: int) -> str:
    """So that a synthetic CMS identifier can never be taken for a real one.

    A negative 14-digit identifier, as CMS gives every synthetic beneficiary, claim and drug event, so that none
    can be taken for a real one (real ones are positive)."""
    return f"-{base + offset}"


MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"  # A-Z without S, L, O, I, B and Z, which MBIs never use
MBI_CHARACTERS = {"N": "0123456789", "L": MBI_LETTERS, "A": MBI_LETTERS + "0123456789", "S": "S"}


def synthetic_mbi(rng: random.Random) -> str:
    """So that a synthetic MBI has the right shape and can never be a real one.

    An MBI of the right shape (digit 1-9, letter, alphanumeric, digit, letter, alphanumeric, digit, letter,
    letter, digit, digit) whose second character is `S`, which CMS never gives a real MBI and keeps for synthetic
    ones."""
    return str(rng.randint(1, 9)) + "".join(rng.choice(MBI_CHARACTERS[kind]) for kind in "SANLANLLNN")
