"""Modulus-11 check digit, on hand-worked numbers."""

import pandas as pd

from iapt_audit.dq.nhs_number import nhs_number_valid


def test_check_digit():
    numbers = pd.Series({
        "nhs_example": "9434765919",    # NHS Digital's published example
        "spaced": "943 476 5919",
        "wrong_digit": "9434765918",
        "sum_308": "9434765870",       # 308 mod 11 = 0 -> check digit 0: valid
        "sum_210": "1234567890",       # 210 mod 11 = 1 -> check digit 10: never valid
        "sum_208": "1234567881",       # 208 mod 11 = 10 -> check digit 1
        "too_short": "123456789",
        "letters": "12345678AB",
        "blank": None,
    }, dtype="string")
    result = nhs_number_valid(numbers)
    assert result.isna().to_dict() == {name: name == "blank" for name in numbers.index}
    assert result.dropna().astype(bool).to_dict() == {
        "nhs_example": True, "spaced": True, "wrong_digit": False, "sum_308": True, "sum_210": False,
        "sum_208": True, "too_short": False, "letters": False}
