"""Unit tests for bot.domain.distress: one group per rule (see the module docstring)."""

from __future__ import annotations

import dataclasses

import pytest

from bot.domain.distress import Assessment, assess, normalize


def alerts(text: str, **kwargs: object) -> bool:
    return assess(text, **kwargs).is_distress  # type: ignore[arg-type]


# --- the API --------------------------------------------------------------------------------


def test_assessment_is_frozen_and_names_what_decided_it() -> None:
    result = assess("I can't go on. I want to die.")
    assert result == Assessment(True, ("can't go on", "want to die"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.is_distress = False  # type: ignore[misc]


def test_nothing_matched_means_no_distress() -> None:
    assert assess("Had my third round of chemo today.") == Assessment(False, ())
    assert assess("") == Assessment(False, ())
    assert assess("   \n\t ") == Assessment(False, ())


def test_matched_is_in_order_of_appearance_without_repeats() -> None:
    result = assess("No point anymore. I want to die. I want to die. No point anymore.")
    assert result.matched == ("no point anymore", "want to die")


# --- crisis statements ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I can't go on",
        "There's no point anymore.",
        "I want to die",
        "Saying goodbye.",
        "Everyone would be better off without me.",
        "I want to end it all tonight.",
        "I've been stockpiling my tablets.",
        "I've been thinking about killing myself.",
        "I'm suicidal",
        "I don't want to be here anymore.",
        "I just want to go to sleep and never wake up.",
        "Nothing left to live for.",
        "By the time you read this I'll be gone.",
        "I cut myself again last night.",
        "I'm just a burden to everyone.",
        "I miss him so much, I want to be with him again.",
    ],
)
def test_crisis_statements_alert(text: str) -> None:
    assert alerts(text)


@pytest.mark.parametrize(
    "text",
    [
        "i cant go on",  # no apostrophe
        "I can’t go on",  # curly apostrophe
        "I CAN'T GO ON",
        "I can`t go on",
        "i want to dieeeee",  # stretched letters
        "Nooo pointtt anymoreee",
        "I   want\tto  die",
        "I wanna die",
        "i want to kms",
    ],
)
def test_spelling_variants_alert(text: str) -> None:
    assert alerts(text)


# --- negation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I don't want to die.",
        "I dont want to die, I'm just scared.",
        "I'm not suicidal, just exhausted.",
        "I would never kill myself, I have my kids.",
        "I'm not going to hurt myself, I promise.",
        "I have no plans to hurt myself.",
        "It's not that I want to die, I just want the pain to stop.",
        "I used to want to die every day.",
        "I never wanted to die, even at the worst point.",
    ],
)
def test_negation_cancels(text: str) -> None:
    assert not alerts(text)


def test_negation_must_govern_the_phrase() -> None:
    assert alerts("I don't know why, but I want to die.")
    assert alerts("I don't know why I want to die.")
    assert alerts("No. I want to die.")  # a separate sentence
    assert alerts("I'm not suicidal but I can't go on like this.")  # the second phrase stands


def test_phrases_that_hold_their_negation_are_not_cancelled_by_it() -> None:
    assert alerts("I don't want to live anymore.")
    assert alerts("Nobody would miss me if I was gone.")


# --- humour, idioms, medical talk ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "This chemo is killing me lol",
        "The tumour is dead according to the scan.",
        "I'm dying to know how the scans went!",
        "Dying of laughter at this thread.",
        "My phone is dead so I'm on my husband's.",
        "I spilled my drink on the radiographer, I want to die of embarrassment lol",
        "This hospital wifi makes me want to die lmao",
        "I can't take it anymore lol, the ward telly only shows golf",
        "I want to die at home when the time comes, not in hospital.",
        "My daughter asked me if I'm going to die.",
        "Chemo kills fast-growing cells.",
        "No point going to the GP before Monday.",
        "I can't go on the trip next month.",
        "Said goodbye to my hair today.",
        "I'm done with chemo!!! Rang the bell!",
    ],
)
def test_humour_idioms_and_medical_talk_do_not_alert(text: str) -> None:
    assert not alerts(text)


def test_laughter_does_not_silence_an_explicit_statement() -> None:
    assert assess("I want to die lol").matched == ("want to die",)
    assert alerts("thinking about killing myself haha")


# --- context: fiction, leaflets, grief, recovery, third person -------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "In the film the main character says 'I want to die'.",
        "The leaflet lists warning signs like saying you want to die.",
        "What should you say if someone tells you they want to kill themselves?",
        "My brother killed himself two years ago.",
        "My cousin took his own life in 2019.",
        "Five years ago I was suicidal. Today I ran a half marathon.",
        "Three years ago I wanted to die. I'm so glad I stayed.",
        "Goodbye everyone, see you next week!",
        "Thanks all and goodbye for now!",
        "He's killing himself with work.",
        "Ending my life insurance policy this month.",
        "Cancer cells commit suicide through apoptosis.",
        "If you're feeling suicidal you can call them any time.",
        "This medication may cause suicidal thoughts.",
    ],
)
def test_context_that_does_not_alert(text: str) -> None:
    assert not alerts(text)


@pytest.mark.parametrize(
    "text",
    [
        "My mum wants to die. She says it every day now.",
        "My son said he wants to kill himself.",
        "My partner says we'd be better off without him.",
        "I tried to kill myself last week.",
    ],
)
def test_someone_alive_in_crisis_alerts(text: str) -> None:
    assert alerts(text)


# --- per-server extra phrases -----------------------------------------------------------------


def test_extra_phrases_match_whole_words_case_and_accent_insensitively() -> None:
    extra = ("Final Exit", "sin salida")
    assert assess("thinking about my FINAL   exit", extra_phrases=extra).matched == ("Final Exit",)
    assert assess("Estoy SIN SALÍDA", extra_phrases=extra).matched == ("sin salida",)
    assert assess("final exiiit", extra_phrases=extra).is_distress  # stretched letters
    assert not alerts("the final exits are on the left", extra_phrases=extra)
    assert not alerts("semifinal exit", extra_phrases=extra)
    assert alerts("semi-final exit", extra_phrases=extra)  # a hyphen breaks words


def test_extra_phrases_follow_negation_but_not_the_laughter_rule() -> None:
    extra = ("checking out",)
    assert not alerts("I'm not checking out, don't worry", extra_phrases=extra)
    assert alerts("checking out lol", extra_phrases=extra)


def test_blank_extra_phrases_are_ignored() -> None:
    assert assess("hello there", extra_phrases=("", "  ", "!!")) == Assessment(False, ())


# --- Spanish --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "No puedo más.",
        "Quiero morir.",
        "No aguanto más.",
        "Me quiero morir.",
        "No vale la pena vivir.",
        "Vengo a despedirme de todos.",
        "Estoy pensando en suicidarme.",
        "Todos estarían mejor sin mí.",
        "no puedo mas",
        "ME QUIERO MORIIIR",
    ],
)
def test_spanish_crisis_statements_alert(text: str) -> None:
    assert alerts(text, language="es")


@pytest.mark.parametrize(
    "text",
    [
        "No quiero morir.",
        "No me quiero morir todavía.",
        "Me muero de risa con este grupo.",
        "Me muero por saber qué os dijo el oncólogo.",
        "No puedo más con este calor jajaja",
        "Quiero morir en casa cuando llegue el momento.",
        "Me despedí de mi abuela en el hospital.",
        "No vale la pena llamar antes del lunes.",
        "El tumor está muerto.",
    ],
)
def test_spanish_negation_humour_and_context_do_not_alert(text: str) -> None:
    assert not alerts(text, language="es")


def test_spanish_posts_are_read_with_both_lexicons() -> None:
    assert assess("I can't go on, perdón por el inglés", language="es").matched == ("can't go on",)
    assert alerts("No puedo más", language="es-ES")
    assert not alerts("No puedo más", language="en")  # English alone does not know it


def test_unknown_language_falls_back_to_english() -> None:
    assert alerts("I want to die", language="fr")
    assert alerts("I want to die", language="")


# --- normalization ----------------------------------------------------------------------------


def test_normalize_folds_case_accents_apostrophes_and_stretched_letters() -> None:
    assert normalize("I’M  SOOO   tired… Ça va?") == "im so tired . ca va"
    assert normalize("can't / cant / can`t / can´t / can’t") == "cant cant cant cant cant"
    assert normalize("Hello, , world!!") == "helo , world"
