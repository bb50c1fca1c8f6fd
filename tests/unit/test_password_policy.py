"""The password rule (``auth.password_policy``): long enough and not guessable, judged by zxcvbn."""

from datetime import date

import pytest

from telemed import errors
from telemed.auth import password_policy as policy

PERSONAL = policy.personal_words("anna", "Anna Petrova", "anna.petrova@example.com", date(1988, 3, 14))


@pytest.mark.parametrize(
    "password",
    [
        "short-one",  # under 12 characters
        "password1234",  # common
        "qwertyuiop123",  # a keyboard walk
        "annapetrova2024",  # the user's name
        "petrova14031988",  # name and birth date
        "anna.petrova@example.com",  # the e-mail
    ],
)
def test_weak_passwords_are_refused_with_feedback(password):
    with pytest.raises(errors.WeakPassword) as caught:
        policy.check(password, PERSONAL)
    exc = caught.value
    assert exc.code == "weak_password" and exc.status == 422
    assert set(exc.details) == {"min_length", "score", "warning", "suggestions"}
    assert exc.details["min_length"] == 12


def test_the_length_is_checked_first():
    with pytest.raises(errors.WeakPassword) as caught:
        policy.check("x7#Lq!9zR2", PERSONAL)
    assert caught.value.details["score"] is None and "12" in caught.value.message


@pytest.mark.parametrize("password", ["violet-harbour-quantum-7", "Tr0ub4dor&3-xylophone"])
def test_strong_passwords_pass(password):
    policy.check(password, PERSONAL)


def test_the_same_password_is_weak_only_for_its_owner():
    password = "gorchakovmarmelad"
    policy.check(password, policy.personal_words("anna", "Anna Petrova"))
    with pytest.raises(errors.WeakPassword):
        policy.check(password, policy.personal_words("gorchakov", "Marmelad Gorchakov"))


def test_personal_words_split_names_mails_and_dates():
    words = policy.personal_words("Anna Petrova", "a.p@mail.ru", date(1988, 3, 14))
    assert {"anna", "petrova", "annapetrova", "a.p@mail.ru", "mail", "1988", "14031988"} <= set(words)


def test_separators_do_not_hide_the_user_s_own_data():
    with pytest.raises(errors.WeakPassword):
        policy.check("anna-petrova-1988", PERSONAL)
