"""A claim's money as a patient asks about it: billed, allowed, plan paid, you owe and why.

So every payer's ExplanationOfBenefit answers the same questions the same way, and nothing a claim does not state
becomes $0.00.

Each adjudication amount gets one meaning: a CMS Blue Button variable (`https://bluebutton.cms.gov/resources/
variables/...`) decides it when present, since CMS codes a rate, a charge and a payment all `submitted` beside
their own variables; otherwise its CARIN Blue Button 1.x/2.x category does. Each question is answered at the first
level that states it: the claim's `total`, then its header `adjudication` (and the CMS claim amounts CMS files in
`benefitBalance`), then `payment.amount` (plan paid only), then a "total charge" line (revenue code 0001), then
the sum over the other lines (a line's `net` is its charge when no adjudication states one), which counts only
when every line carrying money states it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from mirror.web.readable import codes, mappings

CMS_VARIABLES = "https://bluebutton.cms.gov/resources/variables/"
CENT = Decimal("0.01")
# No health claim comes near a trillion dollars; a larger amount (valid FHIR, e.g. 1e30) is a plan's error, and
# read as not stated rather than printed across a phone or added into a year's total.
ABSURD = Decimal("1e15")

CARIN_CATEGORIES = frozenset({
    "submitted", "eligible", "benefit", "paidtoprovider", "paidtopatient", "paidbypatient", "memberliability",
    "deductible", "copay", "coinsurance", "noncovered", "priorpayerpaid", "discount",
})
# The CMS variables (claim, revenue-center line, carrier/DME line, Part D event) that state a patient-facing
# amount, by meaning; any other CMS variable (a rate per unit, a cost below a threshold, a subsidy) answers none.
CMS_MEANINGS = {
    "clm_tot_chrg_amt": "submitted", "rev_cntr_tot_chrg_amt": "submitted", "line_sbmtd_chrg_amt": "submitted",
    "nch_carr_clm_sbmtd_chrg_amt": "submitted", "tot_rx_cst_amt": "submitted",
    "line_alowd_chrg_amt": "eligible", "nch_carr_clm_alowd_amt": "eligible",
    "rev_cntr_pmt_amt_amt": "benefit", "line_nch_pmt_amt": "benefit", "cvrd_d_plan_pd_amt": "benefit",
    "ncvrd_plan_pd_amt": "benefit",
    "rev_cntr_prvdr_pmt_amt": "paidtoprovider", "line_prvdr_pmt_amt": "paidtoprovider",
    "clm_op_prvdr_pmt_amt": "paidtoprovider", "nch_clm_prvdr_pmt_amt": "paidtoprovider",
    "rev_cntr_bene_pmt_amt": "paidtopatient", "line_bene_pmt_amt": "paidtopatient",
    "clm_op_bene_pmt_amt": "paidtopatient", "nch_clm_bene_pmt_amt": "paidtopatient",
    "rev_cntr_ptnt_rspnsblty_pmt": "paidbypatient", "ptnt_pay_amt": "paidbypatient",
    "nch_ip_tot_ddctn_amt": "memberliability",
    "rev_cntr_blood_ddctbl_amt": "deductible", "rev_cntr_cash_ddctbl_amt": "deductible",
    "line_bene_ptb_ddctbl_amt": "deductible", "nch_bene_ip_ddctbl_amt": "deductible",
    "nch_bene_ptb_ddctbl_amt": "deductible", "nch_bene_blood_ddctbl_lblty_am": "deductible",
    "rev_cntr_coinsrnc_wge_adjstd_c": "coinsurance", "line_coinsrnc_amt": "coinsurance",
    "nch_bene_pta_coinsrnc_lblty_amt": "coinsurance", "nch_bene_ptb_coinsrnc_amt": "coinsurance",
    "rev_cntr_ncvrd_chrg_amt": "noncovered", "nch_ip_ncvrd_chrg_amt": "noncovered",
    "rev_cntr_1st_msp_pd_amt": "priorpayerpaid", "rev_cntr_2nd_msp_pd_amt": "priorpayerpaid",
    "line_bene_prmry_pyr_pd_amt": "priorpayerpaid", "prpayamt": "priorpayerpaid",
    "othr_troop_amt": "priorpayerpaid", "plro_amt": "priorpayerpaid",
    "rptd_gap_dscnt_num": "discount",
}
# CMS codes a carrier or DME claim's `total` CARIN `priorpayerpaid` beside the variable clm_tot_chrg_amt (value
# 0): that entry is what a primary payer paid, not the charge, which CMS files as nch_carr_clm_sbmtd_chrg_amt.
CMS_BESIDE_CARIN = {("clm_tot_chrg_amt", "priorpayerpaid"): "priorpayerpaid"}
# BFD's DME lines state the provider payment twice, as rev_cntr_prvdr_pmt_amt and as line_prvdr_pmt_amt (its
# DMEClaimTransformerV2 maps the line's one payment to both): beside the second, the first counts for nothing.
CMS_REPEATS = {"rev_cntr_prvdr_pmt_amt": "line_prvdr_pmt_amt"}
SHARE_PARTS = ("deductible", "copay", "coinsurance", "noncovered")
SHARE_LABELS = {"deductible": "Deductible", "copay": "Copay", "coinsurance": "Coinsurance", "noncovered": "Not covered"}
TOTAL_CHARGE_REVENUE_CODE = "0001"  # UB-04: the line that totals the others


@dataclass
class Money:
    """What a claim (or one line) says, each None where it does not say."""

    billed: Decimal | None = None
    allowed: Decimal | None = None
    plan_paid: Decimal | None = None
    you_owe: Decimal | None = None
    deductible: Decimal | None = None
    copay: Decimal | None = None
    coinsurance: Decimal | None = None
    noncovered: Decimal | None = None

    def share(self) -> list[tuple[str, str, Decimal]]:
        """The parts of what you owe that the claim states: (name, label, amount)."""
        return [(name, SHARE_LABELS[name], getattr(self, name)) for name in SHARE_PARTS
                if getattr(self, name) is not None]

    def share_adds_up(self) -> bool:
        """So that the claim page says whether the stated parts explain what the patient owes.

        Whether the stated parts add up to You owe, so the page may say they are why you owe it; a plan may
        itemise parts that do not (CARIN's memberliability 0 beside a copay of 120), and the page says so."""
        return self.you_owe is not None and sum((value for *_, value in self.share()), Decimal(0)) == self.you_owe


AMOUNT_NAMES = tuple(f.name for f in fields(Money))


def _paid(amounts: Mapping[str, Decimal]) -> Decimal | None:
    paid_out = [amounts[code] for code in ("paidtoprovider", "paidtopatient") if code in amounts]
    return sum(paid_out, Decimal(0)) if paid_out else amounts.get("benefit")


def _owed(amounts: Mapping[str, Decimal]) -> Decimal | None:
    if "memberliability" in amounts:
        return amounts["memberliability"]
    parts = [amounts[code] for code in SHARE_PARTS if code in amounts]
    return sum(parts, Decimal(0)) if parts else amounts.get("paidbypatient")


def _owed_on_a_line(amounts: Mapping[str, Decimal]) -> Decimal | None:
    """So that a line's share for the member is read without counting claim-level amounts twice.

    What a line says the member owes; not covered alone says only what the plan did not cover on it (CMS
    institutional lines state just that, while the claim's deductible lives at the claim level)."""
    if not any(code in amounts for code in ("memberliability", "paidbypatient", *SHARE_PARTS[:3])):
        return None
    return _owed(amounts)


QUESTIONS: dict[str, Callable[[Mapping[str, Decimal]], Decimal | None]] = {
    "billed": lambda amounts: amounts.get("submitted"),
    "allowed": lambda amounts: amounts.get("eligible"),
    "plan_paid": _paid,
    "you_owe": _owed,
    **{part: (lambda amounts, part=part: amounts.get(part)) for part in SHARE_PARTS},
}
LINE_QUESTIONS = {**QUESTIONS, "you_owe": _owed_on_a_line}


def claim_money(eob: Mapping) -> Money:
    """So that the claim page answers each money question from the level of the claim that states it.

    The claim's answer to each question, from the first level of the claim that states it; the split of what
    you owe (deductible, copay, coinsurance, not covered) comes from the level that answered You owe, so a part
    stated at another level never stands beside a You owe it had no part in."""
    lines = [item for item in mappings(eob.get("item")) if not is_total_charge_line(item)]
    total_lines = [item for item in mappings(eob.get("item")) if is_total_charge_line(item)]
    levels = [
        amounts(mappings(eob.get("total"))),
        amounts(mappings(eob.get("adjudication")) + _cms_claim_amounts(eob)),
        _payment(eob),
        amounts([adjudication for item in total_lines for adjudication in mappings(item.get("adjudication"))]),
    ]
    line_amounts = [found for found in (_line_amounts(item) for item in lines) if found]
    answers, owed_level = {}, None
    for name in ("billed", "allowed", "plan_paid", "you_owe"):
        answers[name], level = _first_answer(name, levels, line_amounts)
        if name == "you_owe":
            owed_level = level
    for part in SHARE_PARTS:
        answers[part] = None if owed_level is None else _answer(QUESTIONS[part], owed_level)
    return Money(**{name: _cents(value) for name, value in answers.items()})


Level = Mapping[str, Decimal] | list[Mapping[str, Decimal]]  # a claim level's amounts, or each line's


def _first_answer(name: str, levels: list[Mapping[str, Decimal]],
                  line_amounts: list[Mapping[str, Decimal]]) -> tuple[Decimal | None, Level | None]:
    """The first level's answer to question `name`, and that level; the lines answer last, summed."""
    for level, question in [*((level, QUESTIONS[name]) for level in levels), (line_amounts, LINE_QUESTIONS[name])]:
        answer = _answer(question, level)
        if answer is not None:
            return answer, level
    return None, None


def _answer(question: Callable, level: Level) -> Decimal | None:
    """A level's answer; lines answer with their sum, only when every line carrying money states it."""
    if isinstance(level, Mapping):
        return question(level)
    per_line = [question(found) for found in level]
    return None if not per_line or None in per_line else sum(per_line, Decimal(0))


def line_money(item: Mapping) -> Money:
    """One line's own answers, for the claim page's service table (a line is one level: its split is its own)."""
    found = _line_amounts(item)
    return Money(**{name: _cents(question(found)) for name, question in LINE_QUESTIONS.items()})


def _line_amounts(item: Mapping) -> dict[str, Decimal]:
    """So that a line's charge is known even when the plan adjudicates at the claim level only.

    A line's amounts; its `net` (quantity times unit price) is its charge when no adjudication states one,
    as on CARIN inpatient claims, which adjudicate at the claim level only."""
    found = amounts(mappings(item.get("adjudication")))
    net = money_value(item.get("net"))
    if "submitted" not in found and net is not None:
        found["submitted"] = net
    return found


def is_total_charge_line(item: Mapping) -> bool:
    """So that a claim's total line is never added to the lines it totals.

    Whether the line is UB-04 revenue code 0001, which totals the claim's other lines (CMS institutional
    claims send one), so it is read as a claim-level amount and never added to the lines it totals."""
    return TOTAL_CHARGE_REVENUE_CODE in codes(item.get("revenue"))


def amounts(adjudications: Iterable[Mapping]) -> dict[str, Decimal]:
    """So that amounts of one meaning add up without counting a repeated amount twice.

    Amount per meaning (several CMS variables of one meaning add up, e.g. blood and cash deductible, but an
    amount CMS repeats under a second variable counts once)."""
    adjudications = list(adjudications)
    stated = {code.removeprefix(CMS_VARIABLES) for adjudication in adjudications
              for code in codes(adjudication.get("category")) if code.startswith(CMS_VARIABLES)}
    found: dict[str, Decimal] = {}
    for adjudication in adjudications:
        value = money_value(adjudication.get("amount"))
        meaning = adjudication_meaning(adjudication.get("category"))
        repeats = any(CMS_REPEATS.get(code.removeprefix(CMS_VARIABLES)) in stated
                      for code in codes(adjudication.get("category")))
        if value is not None and meaning is not None and not repeats:
            found[meaning] = found.get(meaning, Decimal(0)) + value
    return found


def adjudication_meaning(category: object) -> str | None:
    """The meaning of an adjudication category: its CMS variable when it has one, else its CARIN code."""
    names = codes(category)
    cms = [code.removeprefix(CMS_VARIABLES) for code in names if code.startswith(CMS_VARIABLES)]
    if cms:
        beside = next((CMS_BESIDE_CARIN[(name, code)] for name in cms for code in names
                       if (name, code) in CMS_BESIDE_CARIN), None)
        return beside or next((CMS_MEANINGS[name] for name in cms if name in CMS_MEANINGS), None)
    return next((code for code in names if code in CARIN_CATEGORIES), None)


def _cms_claim_amounts(eob: Mapping) -> list[Mapping]:
    """So that the amounts CMS files in benefitBalance are read as the claim's own.

    CMS files some claim amounts (Part A/B deductible, coinsurance, provider payment) as `benefitBalance`
    entries coded with its variables; read them as claim-level adjudications. A plan's year-to-date balances
    (CARIN `benefit-type` codes) are not claim money and are left to the progress bars."""
    found = []
    for balance in mappings(eob.get("benefitBalance")):
        for financial in mappings(balance.get("financial")):
            if any(code.startswith(CMS_VARIABLES) for code in codes(financial.get("type"))):
                found.append({"category": financial.get("type"), "amount": financial.get("usedMoney")})
    return found


def _payment(eob: Mapping) -> dict[str, Decimal]:
    payment = eob.get("payment") if isinstance(eob.get("payment"), Mapping) else {}
    value = money_value(payment.get("amount"))
    return {} if value is None else {"benefit": value}


def money_value(money: object) -> Decimal | None:
    """A FHIR Money's value as a Decimal, or None when it has no finite number."""
    if not isinstance(money, Mapping):
        return None
    value = money.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    try:
        found = Decimal(str(value))
    except InvalidOperation:
        return None
    return found if found.is_finite() and abs(found) < ABSURD else None


def _cents(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class YearTotal:
    """A year's sums, with how many claims did not state each amount (a sum that left claims out is partial).

    `year` is None for the claims that give no date, so every claim counts in one row."""

    year: int | None
    claims: int
    sums: dict[str, Decimal]
    unstated: dict[str, int]

    def partial(self, name: str) -> bool:
        """Whether some claim of the year did not state `name`, so its sum is less than the year's whole."""
        return self.unstated[name] > 0

    def stated(self, name: str) -> bool:
        """Whether any claim of the year stated `name`; if none did, the sum is "not stated", never $0.00."""
        return self.unstated[name] < self.claims


def yearly_totals(claims: Iterable[tuple[int | None, Money]]) -> dict[int | None, YearTotal]:
    """So that yearly totals leave no claim out and never take "not stated" for zero.

    Per service year, newest first, then the claims with no date (key None) so none is silently left out;
    "not stated" is counted, never added as zero."""
    totals: dict[int | None, YearTotal] = {}
    for year, money in claims:
        total = totals.setdefault(year, YearTotal(year, 0, {name: Decimal("0.00") for name in AMOUNT_NAMES},
                                                  {name: 0 for name in AMOUNT_NAMES}))
        total.claims += 1
        for name in AMOUNT_NAMES:
            value = getattr(money, name)
            if value is None:
                total.unstated[name] += 1
            else:
                total.sums[name] += value
    return dict(sorted(totals.items(), key=lambda pair: (pair[0] is None, -(pair[0] or 0))))


def dollars(value: Decimal) -> str:
    """So that amounts read alike on the pages and in `mirror claims`.

    An amount as a patient reads it, on the pages and in `mirror claims`: `$1,234.50`, `-$68.80` (the sign
    before the dollar sign, where a reader looks for it)."""
    return f"{'-' if value < 0 else ''}${abs(value):,.2f}"


def as_text(value: Decimal | None) -> str | None:
    """An amount as the command prints it: two decimals, or None where the claim does not say."""
    return None if value is None else f"{value:.2f}"
