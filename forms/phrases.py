"""The fixed wording of validation messages, in each language crews work in.

The template brings its own words in every language (labels, rule messages, code and
NOT value labels, through their `*_i18n` tables); what Crewlog writes around them
("answer this to finalize.") is here. A phrase is its English text with `{name}` slots;
a language or phrase missing from the catalogue falls back to English, so English output
never changes. forms/ stays free of Flask: the app passes the request's language in.

`translated` also turns a finished English phrase back into its slots and renders it in
another language: forms.values words its problems in English only.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

ENGLISH = "en"

SPANISH: dict[str, str] = {
    # forms.values: what to do about a value that does not fit its field
    "the stored answer is unreadable; answer the question again.": (
        "la respuesta guardada no se puede leer; responda la pregunta de nuevo."
    ),
    "{code} is not a known reason for a missing value; choose one from the list.": (
        "{code} no es un motivo conocido de valor faltante; elija uno de la lista."
    ),
    "{code} is not a known qualifier (pertinent negative); choose one from the list.": (
        "{code} no es un calificador conocido (negativo pertinente); elija uno de la lista."
    ),
    "enter text.": "escriba un texto.",
    "keep it to {max} characters or fewer (now {now}).": "use {max} caracteres o menos (ahora hay {now}).",
    "'{value}' is not in the expected format; check it.": "'{value}' no tiene el formato esperado; revíselo.",
    "enter a whole number.": "escriba un número entero.",
    "enter a whole number from {low} to {high}.": "escriba un número entero de {low} a {high}.",
    "enter a whole number of {low} or more.": "escriba un número entero de {low} o más.",
    "enter a whole number of {high} or less.": "escriba un número entero de {high} o menos.",
    "enter a number.": "escriba un número.",
    "enter a number from {low} to {high}.": "escriba un número de {low} a {high}.",
    "enter a number of {low} or more.": "escriba un número de {low} o más.",
    "enter a number of {high} or less.": "escriba un número de {high} o menos.",
    "answer yes or no.": "responda sí o no.",
    "enter a date as YYYY-MM-DD (e.g. 2026-03-14).": "escriba una fecha como AAAA-MM-DD (p. ej. 2026-03-14).",
    "enter a date and time with seconds and UTC offset (e.g. 2026-03-14T13:17:45-06:00).": (
        "escriba fecha y hora con segundos y desfase UTC (p. ej. 2026-03-14T13:17:45-06:00)."
    ),
    "choose one of the listed options ({shown} is not one).": (
        "elija una de las opciones de la lista ({shown} no es una de ellas)."
    ),
    "choose one or more of the listed options.": "elija una o más opciones de la lista.",
    "choose from the listed options ({shown} is not one).": (
        "elija entre las opciones de la lista ({shown} no es una de ellas)."
    ),
    "choose each option only once.": "elija cada opción una sola vez.",
    "enter a GPS point as latitude,longitude (e.g. 39.7508,-104.9966).": (
        "escriba un punto GPS como latitud,longitud (p. ej. 39.7508,-104.9966)."
    ),
    # forms.validation: shapes and what finalizing needs
    "The record could not be read: start it again.": "No se pudo leer el registro: empiécelo de nuevo.",
    "{group}: the rows could not be read; enter them again.": (
        "{group}: no se pudieron leer las filas; ingréselas de nuevo."
    ),
    "'{name}' is not a question of template {template}: remove it.": (
        "'{name}' no es una pregunta de la plantilla {template}: quítela."
    ),
    "confirm this (it must be yes) to finalize.": "confirme esto (debe ser sí) para finalizar.",
    "a real answer is needed; '{code}' is not allowed here.": (
        "hace falta una respuesta real; aquí no se permite '{code}'."
    ),
    "answer this to finalize.": "responda esto para finalizar.",
    "answer this, or choose why it is missing.": "responda esto, o elija por qué falta.",
    "'{code}' is not allowed here: {what}": "aquí no se permite '{code}': {what}",
    "enter a value.": "escriba un valor.",
    "enter a value or choose {choices}.": "escriba un valor o elija {choices}.",
    " or ": " o ",
    "choose at least {n}.": "elija al menos {n}.",
    # forms.rules: cross-field rules around the rule's own message
    "{message}: {second} ({later}) is before {first} ({earlier}). Check the times.": (
        "{message}: {second} ({later}) es antes de {first} ({earlier}). Revise las horas."
    ),
    "{message}: {label} ({shown}) is later than now. Check the time.": (
        "{message}: {label} ({shown}) es posterior a ahora. Revise la hora."
    ),
    "{label}: {message} ({gap} after {start}). Check the dates.": (
        "{label}: {message} ({gap} después de {start}). Revise las fechas."
    ),
    "{n} days": "{n} días",
    "{n} hours": "{n} horas",
    "{n} minutes": "{n} minutos",
    "{label}: {message} (add it to {of}, or change it).": (
        "{label}: {message} (agréguelo a {of}, o cámbielo)."
    ),
    "{label}: {message}: remove '{code}' or the other choices.": (
        "{label}: {message}: quite '{code}' o las demás opciones."
    ),
    (
        "{group}: {message}. This record should have none: remove the {count} row(s) or correct the"
        " answers above."
    ): (
        "{group}: {message}. Este registro no debería tener ninguna: quite las {count} fila(s) o corrija las"
        " respuestas de arriba."
    ),
    "{group}: {message}. Add at least {n}.": "{group}: {message}. Agregue al menos {n}.",
    "{group}: {message}. Keep at most {n}.": "{group}: {message}. Deje como máximo {n}.",
    "{message}: another record has the same {same}. Check that this is not a duplicate.": (
        "{message}: otro registro tiene los mismos valores de {same}. Compruebe que no sea un duplicado."
    ),
}

CATALOGUES: dict[str, dict[str, str]] = {"es": SPANISH}
SLOT = re.compile(r"\{(\w+)\}")


def phrase(english: str, lang: str = ENGLISH, **values: Any) -> str:
    """Return a phrase in the language asked for (English when it has no translation), slots filled."""
    text = CATALOGUES.get(lang, {}).get(english, english)
    return text.format(**values) if values else text


def translated(text: str, lang: str = ENGLISH) -> str:
    """Return a finished English phrase of the catalogue in another language; other text unchanged."""
    catalogue = CATALOGUES.get(lang)
    if catalogue is None:
        return text
    if text in catalogue:
        return catalogue[text]
    for english, pattern in _patterns():
        found = pattern.fullmatch(text)
        if found is not None:
            return catalogue.get(english, english).format(**found.groupdict())
    return text


@cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Return each English phrase with slots as a pattern capturing the slots' text."""
    phrases = {p for catalogue in CATALOGUES.values() for p in catalogue if SLOT.search(p)}
    return tuple((p, re.compile(_pattern(p), re.S)) for p in sorted(phrases, key=len, reverse=True))


def _pattern(english: str) -> str:
    parts = SLOT.split(english)  # text, slot, text, slot, ..., text
    return "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
