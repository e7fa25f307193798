"""Modulus-11 check digit, on hand-worked numbers."""

import pandas as pd

from iapt_audit.dq.nhs_number import nhs_number_valid


def test_check_digit():
    numbers = pd.Series({
        # weights 10..2 on the first nine digits; check digit = 11 - (sum mod 11), 11 -> 0, 10 -> invalid
        "valid": "9990000018",    # 9*10+9*9+9*8+1*2 = 245, 245 mod 11 = 3 -> check digit 8
        "spaced": "999 000 0018",
        "wrong_digit": "9990000017",
        "sum_253": "9990000050",       # 243+5*2 = 253, 253 mod 11 = 0 -> check digit 0: valid
        "sum_243": "9990000000",       # 243 mod 11 = 1 -> check digit 10: never valid
        "sum_252": "9990000131",       # 243+1*3+3*2 = 252, 252 mod 11 = 10 -> check digit 1
        "too_short": "123456789",
        "letters": "12345678AB",
        "blank": None,
    }, dtype="string")
    result = nhs_number_valid(numbers)
    assert result.isna().to_dict() == {name: name == "blank" for name in numbers.index}
    assert result.dropna().astype(bool).to_dict() == {
        "valid": True, "spaced": True, "wrong_digit": False, "sum_253": True, "sum_243": False,
        "sum_252": True, "too_short": False, "letters": False}
