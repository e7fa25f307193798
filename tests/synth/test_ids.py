"""NHS numbers and organisation codes of synthetic extracts."""

from __future__ import annotations

import re

import numpy as np

from iapt_audit.synth import ids


def mod11_valid(number: str) -> bool:
    """The NHS number check, written out from its definition: weights 10..2, 11 - remainder."""
    if not re.fullmatch(r"\d{10}", number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:9], range(10, 1, -1)))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(number[9])


def test_check_digits_of_known_numbers():
    # by hand: 999000001 -> 243 + 1*2 = 245, 245 % 11 = 3, check 8; 999000013 -> 243 + 3 + 6 = 252,
    # 252 % 11 = 10, check 1; 999000005 -> 243 + 10 = 253, 253 % 11 = 0, check 0
    assert ids.check_digits(np.array([999000001, 999000013, 999000005])).tolist() == [8, 1, 0]


def test_stems_whose_check_digit_would_be_10_are_skipped():
    valid = ids.valid_test_nhs_numbers()
    stems = set((valid // 10).tolist())
    # worked by hand: 9*10 + 9*9 + 9*8 = 243 for the stem 999000000
    # 999000000: 243 % 11 = 1, 11 - 1 = 10 -> no valid number
    # 999000001: 243 + 1*2 = 245, 245 % 11 = 3, check 8 -> 9990000018
    # 999000004: 243 + 4*2 = 251, 251 % 11 = 9, check 2 -> valid
    # 999000006: 243 + 12 = 255, 255 % 11 = 2, check 9 -> valid
    assert 999000000 not in stems
    assert {999000001, 999000004, 999000006} <= stems
    assert 9990000018 in valid.tolist()[:5]


def test_every_mpi_nhs_number_is_in_the_test_range_and_valid(extract):
    numbers = extract["tables"]["IDS001MPI"]["NHSNumber"]
    assert numbers.str.fullmatch(r"999\d{7}").all()
    assert all(mod11_valid(n) for n in numbers)


def test_nhs_numbers_are_unique_within_each_provider(extract):
    mpi = extract["tables"]["IDS001MPI"]
    assert not mpi.duplicated(["OrgIDProv", "NHSNumber"]).any()
    assert not mpi.duplicated(["OrgIDProv", "LocalPatientId"]).any()


def test_postcodes_are_fictitious(extract):
    assert extract["tables"]["IDS001MPI"]["Postcode"].str.fullmatch(r"XX\d{1,2} \d[A-Z]{2}").all()


def test_provider_codes_look_like_trust_codes_and_are_distinct(extract):
    codes = list(extract["truth"]["providers"])
    assert all(re.fullmatch(r"R[A-Z][0-9A-Z]", c) for c in codes)
    assert len(set(codes)) == len(codes) == 12
