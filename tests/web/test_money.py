"""The money model (mirror.web.money) on each shape of claim payers send, from JSON written here and
CARIN's published examples, against amounts worked out by hand in each test."""

import json
from decimal import Decimal

import pytest

from mirror.web.claims import CLAIM, ESTIMATE, PRIOR_AUTHORIZATION, eob_use, line_summaries, summarize
from mirror.web.money import claim_money, dollars, yearly_totals
from tests.example_data import example_folder

ADJ = "http://terminology.hl7.org/CodeSystem/adjudication"
C4BB = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
CMS_ADJ = "https://bluebutton.cms.gov/resources/codesystem/adjudication"
CMS_VAR = "https://bluebutton.cms.gov/resources/variables/"
CMS_BALANCE = "https://bluebutton.cms.gov/resources/codesystem/benefit-balance"


def carin(code, value, system=ADJ):
    return {"category": {"coding": [{"system": system, "code": code}]}, "amount": {"value": value, "currency": "USD"}}


def cms(variable, value, carin_code=None, carin_system=ADJ):
    """An adjudication as CMS Blue Button v2 codes it: its own variable, often beside a CARIN category."""
    coding = [{"system": CMS_ADJ, "code": CMS_VAR + variable}]
    if carin_code:
        coding.insert(0, {"system": carin_system, "code": carin_code})
    return {"category": {"coding": coding}, "amount": {"value": value, "currency": "USD"}}


def cms_balance(variable, value):
    return {"type": {"coding": [{"system": CMS_BALANCE, "code": CMS_VAR + variable}]},
            "usedMoney": {"value": value, "currency": "USD"}}


def revenue(code):
    return {"coding": [{"system": CMS_VAR + "rev_cntr", "code": code}]}


def cents(text):
    return None if text is None else Decimal(text)


def check(money, billed, allowed, plan_paid, you_owe, deductible=None, copay=None, coinsurance=None, noncovered=None):
    expected = dict(billed=billed, allowed=allowed, plan_paid=plan_paid, you_owe=you_owe, deductible=deductible,
                    copay=copay, coinsurance=coinsurance, noncovered=noncovered)
    assert {name: getattr(money, name) for name in expected} == {name: cents(v) for name, v in expected.items()}


def test_carin_2_totals_win_over_lines():
    """CARIN BB 2.0: claim-level `total` answers before any sum of lines (the line here disagrees)."""
    eob = {"total": [carin("submitted", 500), carin("eligible", 300), carin("deductible", 100), carin("copay", 20),
                     carin("coinsurance", 36, C4BB), carin("memberliability", 156, C4BB), carin("benefit", 144),
                     carin("paidtoprovider", 144, C4BB), carin("noncovered", 0, C4BB)],
           "item": [{"sequence": 1, "adjudication": [carin("submitted", 1), carin("benefit", 1),
                                                      carin("memberliability", 99, C4BB)]}]}
    # plan paid: paidtoprovider 144 (+ no paidtopatient); you owe: memberliability 156 = 100 + 20 + 36
    check(claim_money(eob), "500.00", "300.00", "144.00", "156.00", "100.00", "20.00", "36.00", "0.00")


def test_carin_1_1_line_categories_sum_only_what_every_line_states():
    """CARIN BB 1.1: amounts on lines only; a category some money-carrying line leaves out is not summed."""
    eob = {"adjudication": [{"category": {"coding": [{"code": "inoutnetwork"}]},
                             "reason": {"coding": [{"code": "outofnetwork"}]}}],
           "item": [{"sequence": 1, "adjudication": [carin("submitted", 200), carin("eligible", 150),
                                                      carin("coinsurance", 30, C4BB), carin("paidtoprovider", 120, C4BB)]},
                    {"sequence": 2, "adjudication": [carin("submitted", 100), carin("eligible", 80), carin("copay", 10),
                                                      carin("paidtoprovider", 70, C4BB), carin("priorpayerpaid", 5, C4BB)]},
                    {"sequence": 3, "productOrService": {"text": "note line, no money"}}]}
    # billed 200 + 100; allowed 150 + 80; paid 120 + 70; you owe 30 (line 1's parts) + 10 (line 2's);
    # coinsurance and copay are each on one line only, so the claim does not state them.
    check(claim_money(eob), "300.00", "230.00", "190.00", "40.00")
    claim = summarize({"resourceType": "ExplanationOfBenefit", "id": "c11", **eob}, lambda t, i: None)
    assert claim.network == "out-of-network"


OUTPATIENT_LINES = [
    {"sequence": 1, "revenue": revenue("0300"), "adjudication": [
        cms("rev_cntr_rate_amt", 10.0, "submitted"), cms("rev_cntr_tot_chrg_amt", 50.0, "submitted"),
        cms("rev_cntr_ncvrd_chrg_amt", 0.0, "noncovered", C4BB), cms("rev_cntr_prvdr_pmt_amt", 0.0, "paidtoprovider", C4BB),
        cms("rev_cntr_ptnt_rspnsblty_pmt", 0.0, "paidbypatient", C4BB), cms("rev_cntr_pmt_amt_amt", 0.0, "submitted")]},
    {"sequence": 2, "revenue": {"coding": [{"system": CMS_VAR + "rev_cntr", "code": "0001", "display": "Total charge"}]},
     "adjudication": [cms("rev_cntr_rate_amt", 0.0, "submitted"), cms("rev_cntr_tot_chrg_amt", 300.0, "submitted"),
                      cms("rev_cntr_ncvrd_chrg_amt", 70.0, "noncovered", C4BB),
                      cms("rev_cntr_prvdr_pmt_amt", 0.0, "paidtoprovider", C4BB)]},
]


def test_cms_outpatient_payment_is_plan_paid_and_a_line_charge_is_not_its_rate():
    """CMS Blue Button v2 outpatient: `payment.amount` 20.0 is what the plan paid although every line's
    paidtoprovider is 0; a line's rate, charge and payment are all coded `submitted`, and only
    rev_cntr_tot_chrg_amt is its charge; the 0001 line totals the others and is not added to them."""
    eob = {"total": [cms("clm_tot_chrg_amt", 300.0, "submitted")], "payment": {"amount": {"value": 20.0}},
           "item": OUTPATIENT_LINES}
    money = claim_money(eob)
    assert money.billed == Decimal("300.00") and money.plan_paid == Decimal("20.00") and money.allowed is None
    lines = line_summaries(eob)
    assert lines[0].money.billed == Decimal("50.00") and lines[0].service == "Laboratory"
    assert lines[1].is_total and lines[1].money.billed == Decimal("300.00")
    # CMS's claim-level amounts filed in benefitBalance: Part B deductible and coinsurance, provider payment
    with_balances = {**eob, "benefitBalance": [{"financial": [
        cms_balance("nch_bene_ptb_ddctbl_amt", 15.0), cms_balance("nch_bene_ptb_coinsrnc_amt", 5.0),
        cms_balance("clm_op_prvdr_pmt_amt", 20.0), cms_balance("clm_op_bene_pmt_amt", 0.0)]}]}
    # you owe: deductible 15 + coinsurance 5 at the claim level, and the split is that level's: the 0001 line's
    # not covered 70 answers no question of this claim's share (it would stand beside a You owe of 20 it is no
    # part of), so what you owe and why add up
    check(claim_money(with_balances), "300.00", None, "20.00", "20.00", "15.00", None, "5.00", None)
    assert claim_money(with_balances).share_adds_up()


def test_cms_inpatient_uncategorised_total_is_not_guessed():
    """CMS inpatient: a `total` with no category says nothing; `payment` 10000.0 is plan paid, the 0001 line's
    charge is billed (not the 80 + 1000 of the other lines), and the Part A amounts come from benefitBalance."""
    eob = {"total": [{"amount": {"value": 10000.0, "currency": "USD"}}],
           "payment": {"amount": {"value": 10000.0, "currency": "USD"}},
           "item": [{"sequence": 1, "revenue": revenue("0305"),
                     "adjudication": [cms("rev_cntr_rate_amt", 0.0), cms("rev_cntr_tot_chrg_amt", 80.0)]},
                    {"sequence": 2, "revenue": revenue("0410"),
                     "adjudication": [cms("rev_cntr_rate_amt", 0.0), cms("rev_cntr_tot_chrg_amt", 1000.0)]},
                    {"sequence": 3, "revenue": revenue("0001"),
                     "adjudication": [cms("rev_cntr_rate_amt", 0.0), cms("rev_cntr_tot_chrg_amt", 10000.0),
                                      cms("rev_cntr_ncvrd_chrg_amt", 0.0)]}],
           "benefitBalance": [{"financial": [
               cms_balance("nch_bene_ip_ddctbl_amt", 1000.0), cms_balance("nch_bene_pta_coinsrnc_lblty_amt", 0.0),
               cms_balance("nch_ip_ncvrd_chrg_amt", 0.0), cms_balance("nch_ip_tot_ddctn_amt", 1000.0),
               cms_balance("clm_pass_thru_per_diem_amt", 0.0),
               {"type": {"coding": [{"code": CMS_VAR + "bene_tot_coinsrnc_days_cnt"}]}, "usedUnsignedInt": 7}]}]}
    # you owe: nch_ip_tot_ddctn_amt (the beneficiary's deductible and coinsurance) 1000
    check(claim_money(eob), "10000.00", None, "10000.00", "1000.00", "1000.00", None, "0.00", "0.00")
    assert [line.service for line in line_summaries(eob)] == ["Laboratory", "Respiratory services", "Total charge"]


def test_cms_part_d_total_drug_cost_is_billed_and_gross_costs_are_not_coinsurance():
    """CMS Part D event: tot_rx_cst_amt is the drug's total cost (billed); gdc_blw_oopt_amt, which CMS codes
    `coinsurance`, is a gross cost below a threshold and no part of what the member owes."""
    eob = {"type": {"coding": [{"code": "pharmacy"}]}, "item": [{"sequence": 1, "adjudication": [
        cms("cvrd_d_plan_pd_amt", 70.40, "benefit", C4BB), cms("gdc_blw_oopt_amt", 85.40, "coinsurance", C4BB),
        cms("gdc_abv_oopt_amt", 0.0, "coinsurance", C4BB), cms("ptnt_pay_amt", 15.0, "paidbypatient", C4BB),
        cms("lics_amt", 0.0, "discount", C4BB), cms("tot_rx_cst_amt", 85.40, "drugcost", C4BB),
        cms("rptd_gap_dscnt_num", 0.0, "discount", C4BB)]}]}
    check(claim_money(eob), "85.40", None, "70.40", "15.00")


def test_synthea_codes_its_lines_with_cms_variables():
    """Synthea (smart-on-fhir sample data): a submitted total, `payment`, and CMS line variables as codes; its
    encounter line carries no money and is left out of the line sums."""
    line = [cms("line_coinsrnc_amt", 28.104000000000003), cms("line_prvdr_pmt_amt", 112.41600000000001),
            cms("line_sbmtd_chrg_amt", 140.52), cms("line_alowd_chrg_amt", 140.52),
            cms("line_bene_ptb_ddctbl_amt", 0), {"category": {"coding": [{"system": CMS_ADJ, "code": CMS_VAR + "line_prcsg_ind_cd"}]}}]
    eob = {"total": [carin("submitted", 406.04)], "payment": {"amount": {"value": 224.83200000000002}},
           "item": [{"sequence": 1, "productOrService": {"text": "Encounter for check up"}},
                    {"sequence": 2, "adjudication": line}, {"sequence": 3, "adjudication": line}]}
    # allowed 140.52 * 2; you owe = coinsurance 28.104 * 2 = 56.208 + deductible 0, in cents
    check(claim_money(eob), "406.04", "281.04", "224.83", "56.21", "0.00", None, "56.21")


@pytest.fixture(scope="module")
def carin_examples():
    return {path.stem.split("-", 1)[1]: json.loads(path.read_text())
            for path in example_folder("carin-bb-2.0.0").glob("ExplanationOfBenefit-*.json")}


@pytest.mark.parametrize("example, expected", [
    # totals: paidtoprovider 620, submitted 2650, paidbypatient 0; the line's benefit 20 and memberliability 80 lose
    ("EOBPharmacy1", ("2650.00", None, "620.00", "0.00")),
    ("EOBInpatient1", ("2650.00", None, "620.00", "0.00")),
    # totals: memberliability 0 answers you owe although copay 120 is stated
    ("EOBInpatient2", ("7147.20", "1542.01", "1393.57", "0.00", "0.00", "120.00", None, "0.00")),
    # paidtoprovider 100 is what was paid, benefit 110 what was payable; no member amount at all
    ("EOBOral2", ("150.00", None, "100.00", None)),
    # no submitted total: 84.40 + 0 from the lines
    ("EOBOutpatient2", ("84.40", "56.52", "56.52", "0.00", "0.00", "0.00", None, "0.00")),
    # totals: memberliability 0; the lines' deductible 0 is another level's and no part of the split
    ("EOBProfessionalTransportation1", ("82.97", "82.97", "82.97", "0.00")),
])
def test_carin_examples(carin_examples, example, expected):
    check(claim_money(carin_examples[example]), *expected)


def test_a_year_with_a_claim_that_states_no_amount_is_partial_not_zero():
    stated = claim_money({"total": [carin("submitted", 100), carin("memberliability", 25, C4BB)]})
    silent = claim_money({"item": [{"sequence": 1}]})
    total = yearly_totals([(2024, stated), (2024, silent), (2023, silent)])
    assert total[2024].sums["billed"] == Decimal("100.00") and total[2024].unstated["billed"] == 1
    assert total[2024].partial("billed") and total[2024].stated("billed")
    assert not total[2023].stated("billed") and total[2023].unstated["you_owe"] == 1


def test_a_line_without_adjudication_is_billed_its_net():
    """CARIN inpatient lines carry no adjudication (the claim does): a line's `net` is its charge, so a hospital
    stay's lines show what each cost; the claim's own total still wins."""
    eob = {"total": [carin("submitted", 1000)],
           "item": [{"sequence": 1, "net": {"value": 600.5}, "revenue": {"coding": [{"code": "0370"}]},
                     "productOrService": {"coding": [{"code": "not-applicable", "display": "Not Applicable"}]}},
                    {"sequence": 2, "net": {"value": 399.5}, "revenue": {"coding": [{"code": "0121"}]}}]}
    lines = line_summaries(eob)
    assert [(line.service, line.money.billed) for line in lines] == [
        ("Anesthesia", Decimal("600.50")), ("Room & board (semi-private room)", Decimal("399.50"))]
    assert claim_money(eob).billed == Decimal("1000.00")
    assert claim_money({"item": eob["item"]}).billed == Decimal("1000.00")  # 600.50 + 399.50


def test_cms_carrier_total_beside_priorpayerpaid_is_prior_payer_paid_and_billed_is_the_submitted_charge():
    """CMS Blue Button v2 carrier/DME (CarrierClaimTransformerV2): the one `total` is coded CARIN priorpayerpaid
    beside clm_tot_chrg_amt with value 0, which is what a primary payer paid, not the charge; the claim's charge
    is nch_carr_clm_sbmtd_chrg_amt and its allowed nch_carr_clm_alowd_amt, filed in benefitBalance."""
    eob = {"type": {"coding": [{"code": "professional"}]},
           "total": [cms("clm_tot_chrg_amt", 0, "priorpayerpaid", C4BB)],
           "payment": {"amount": {"value": 166.23, "currency": "USD"}},
           "benefitBalance": [{"financial": [
               cms_balance("nch_clm_prvdr_pmt_amt", 166.23), cms_balance("nch_clm_bene_pmt_amt", 0),
               cms_balance("nch_carr_clm_sbmtd_chrg_amt", 245.04), cms_balance("nch_carr_clm_alowd_amt", 208.20)]}],
           "item": [{"sequence": 1, "adjudication": [
               cms("line_nch_pmt_amt", 166.23, "benefit"), cms("line_bene_pmt_amt", 0, "paidtoprovider", C4BB),
               cms("line_prvdr_pmt_amt", 166.23, "paidtoprovider", C4BB),
               cms("line_bene_ptb_ddctbl_amt", 0, "deductible"), cms("line_bene_prmry_pyr_pd_amt", 0, "priorpayerpaid", C4BB),
               cms("line_coinsrnc_amt", 41.97, "coinsurance", C4BB), cms("line_sbmtd_chrg_amt", 245.04, "submitted"),
               cms("line_alowd_chrg_amt", 208.20, "eligible")]}]}
    # billed: 245.04 (not the 0 beside priorpayerpaid); allowed 208.20; plan paid: provider 166.23 + to the
    # beneficiary 0 at the claim level; you owe: no claim-level share, so the line's deductible 0 + coinsurance
    # 41.97 = 41.97 (= 208.20 allowed - 166.23 paid)
    check(claim_money(eob), "245.04", "208.20", "166.23", "41.97", "0.00", None, "41.97")


def test_cms_dme_line_repeats_its_provider_payment_and_it_counts_once():
    """CMS Blue Button v2 DME (DMEClaimTransformerV2): a line states its provider payment as rev_cntr_prvdr_pmt_amt
    and again as line_prvdr_pmt_amt; the line's plan paid is 120.00 once (not 240.00), and an outpatient line's
    rev_cntr_prvdr_pmt_amt, with no line_prvdr_pmt_amt beside it, still counts."""
    dme_line = {"sequence": 1, "adjudication": [
        cms("rev_cntr_prvdr_pmt_amt", 120.0, "paidtoprovider", C4BB), cms("line_nch_pmt_amt", 120.0, "benefit"),
        cms("line_bene_pmt_amt", 0.0, "paidtoprovider", C4BB), cms("line_prvdr_pmt_amt", 120.0, "paidtoprovider", C4BB),
        cms("line_bene_ptb_ddctbl_amt", 0.0, "deductible"), cms("line_coinsrnc_amt", 30.0, "coinsurance", C4BB),
        cms("line_sbmtd_chrg_amt", 200.0, "submitted"), cms("line_alowd_chrg_amt", 150.0, "eligible")]}
    check(claim_money({"item": [dme_line]}), "200.00", "150.00", "120.00", "30.00", "0.00", None, "30.00")
    outpatient_line = {"sequence": 1, "adjudication": [cms("rev_cntr_prvdr_pmt_amt", 80.0, "paidtoprovider", C4BB),
                                                       cms("rev_cntr_tot_chrg_amt", 100.0, "submitted")]}
    assert claim_money({"item": [outpatient_line]}).plan_paid == Decimal("80.00")


def test_why_you_owe_it_comes_from_the_level_that_answered_you_owe():
    """You owe and its split are one answer: a claim-level member liability of 20 is not explained by the lines'
    deductible 15, coinsurance 5 and not covered 70 (another level); parts the plan states beside its member
    liability that do not add up to it are marked as the plan itemises them, not as the reason."""
    lines = [{"sequence": 1, "adjudication": [carin("deductible", 15), carin("coinsurance", 5, C4BB),
                                               carin("noncovered", 70, C4BB)]}]
    alone = claim_money({"total": [carin("memberliability", 20, C4BB)], "item": lines})
    check(alone, None, None, None, "20.00")
    assert alone.share() == [] and not alone.share_adds_up()
    itemised = claim_money({"total": [carin("memberliability", 0, C4BB), carin("copay", 120)]})
    check(itemised, None, None, None, "0.00", None, "120.00")
    assert not itemised.share_adds_up()
    from_lines = claim_money({"item": lines})  # no claim-level share: the lines answer both, and agree
    check(from_lines, None, None, None, "90.00", "15.00", None, "5.00", "70.00")
    assert from_lines.share_adds_up()


@pytest.mark.parametrize("value", [1e15, -1e15, 1e30, 1e308])
def test_an_amount_of_a_quadrillion_dollars_or_more_is_not_stated(value):
    """Valid FHIR decimals no health claim comes near are read as not stated: never an InvalidOperation from
    rounding to cents, never a number wider than a page."""
    money = claim_money({"total": [carin("submitted", value), carin("eligible", Decimal("999999999999999.99"))]})
    assert money.billed is None and money.allowed == Decimal("999999999999999.99")


def test_a_claim_with_no_date_counts_in_a_no_date_row_of_the_totals():
    """A year's totals leave no claim out silently: claims with no service or created date are a row of their
    own, after the years."""
    stated = claim_money({"total": [carin("submitted", 100)]})
    totals = yearly_totals([(2024, stated), (None, stated), (2023, stated), (None, stated)])
    assert list(totals) == [2024, 2023, None]
    assert totals[None].claims == 2 and totals[None].sums["billed"] == Decimal("200.00")


def test_a_negative_amount_has_its_sign_before_the_dollar_sign():
    assert [dollars(Decimal(v)) for v in ("-68.80", "1234.5", "0", "-0.00")] == ["-$68.80", "$1,234.50", "$0.00",
                                                                                    "$0.00"]


@pytest.mark.parametrize("use, sorted_as", [
    ("claim", CLAIM), ("preauthorization", PRIOR_AUTHORIZATION), ("predetermination", ESTIMATE),
    (None, CLAIM), (["preauthorization"], CLAIM), ({"code": "claim"}, CLAIM), (7, CLAIM)])
def test_one_function_sorts_an_eob_into_claim_prior_authorization_or_estimate(use, sorted_as):
    """FHIR R4 EOB.use (claim | preauthorization | predetermination); a `use` that is not text is not a code of
    the value set and never raises."""
    assert eob_use({"use": use}) == sorted_as


def test_care_team_once_each_with_roles_and_a_line_over_days_shows_its_period_and_quantity():
    """CARIN careTeam.role: a clinician listed for several roles is named once with them; a room & board line
    served over a period shows first to last day and its quantity in days (UCUM `d`)."""
    team = [{"sequence": n, "provider": {"display": name},
             "role": {"coding": [{"system": "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimCareTeamRole",
                                  "code": role}]}}
            for n, (name, role) in enumerate([("Rosa Wright, MD", "attending"), ("Rosa Wright, MD", "operating"),
                                              ("Noah Torres, MD", "referring")], 1)]
    eob = {"resourceType": "ExplanationOfBenefit", "id": "stay", "careTeam": team,
           "item": [{"sequence": 1, "revenue": {"coding": [{"code": "0121"}]},
                     "servicedPeriod": {"start": "2024-03-01", "end": "2024-03-03"},
                     "quantity": {"value": 2, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}}]}
    assert summarize(eob, lambda t, i: None).care_team == ["Rosa Wright, MD (attending, operating)",
                                                           "Noah Torres, MD (referring)"]
    line = line_summaries(eob)[0]
    assert (line.date, line.end, line.quantity) == ("2024-03-01", "2024-03-03", "2 days")
    # UB-04 accommodation revenue codes (0100-0219) count days even when the quantity has no unit
    eob["item"] = [{**eob["item"][0], "quantity": {"value": 2}}, {"sequence": 2, "revenue": {"coding": [{"code": "0250"}]},
                                                                 "quantity": {"value": 4}}]
    assert [line.quantity for line in line_summaries(eob)] == ["2 days", "4"]
