"""Person names in Russian and Kazakh text: full names, patronymics, initials, names after "Меня зовут"."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from spacy.lang.ru.stop_words import STOP_WORDS as RUSSIAN_STOP_WORDS

from .direct import DirectRecognizer

NAMES_DIR = Path(__file__).resolve().parent.parent / "conf" / "names"
NAME_LISTS = ("first_names.txt", "kazakh_first_names.txt")
# Kazakh letters to the Russian ones the name list is spelled with (Нұрлан -> нурлан).
_FOLD = str.maketrans("әғқңөұүһіё", "агкноуухие")

_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
# Patronymics in any case form (Петрович, Петровичем, Петровной) and the Kazakh -ұлы/-қызы (also -улы/-кызы).
_PATRONYMIC = re.compile(r"(?:(?:ович|евич|ьич)(?:а|у|ем|е)?|(?:овн|евн|ичн)(?:а|ы|е|у|ой)|ұлы|улы|қызы|кызы)$")
# The nominative forms: a capitalized word ending so is a patronymic even of a father's name the lists lack.
_PATRONYMIC_NOMINATIVE = re.compile(r"(?:ович|евич|ьич|овна|евна|ична|ұлы|улы|қызы|кызы)$")
_SURNAME = re.compile(r"(?:ов|ев|ёв|ова|ева|ёва|ин|ина|ын|ына|ский|ская|цкий|цкая|енко|ук|юк|ян|дзе|швили|"
                      r"баев|баева|бекова|бекулы)$")
# Phrases after which the next words are a name: strong ones announce it (a name typed in lower case is taken too),
# weak ones only make capitalized or name-like words count on their own.
_STRONG_TRIGGER = re.compile(
    r"(?<!\w)(?:меня\s+зовут|мо[её]\s+имя|менің\s+атым|менің\s+есімім|заявитель|заявительница|ф\.\s?и\.\s?о\.?|фио|"
    r"аты[\s\-]*жөні\w*)\s*[:,\-]?\s*",
    re.IGNORECASE,
)
_WEAK_TRIGGER = re.compile(r"(?<!\w)(?:с\s+уважением|құрметпен|обращается|жительница|житель|фамилия|имя|отчество|"
                           r"зовут|тегі|есімі|"
                           # family and neighbours: "Сын Данияр", "соседка Айгуль", "ұлым Ерасыл"
                           r"сын|сына|сыну|дочь|дочери|дочка|муж|мужа|жена|жены|мама|мамы|мать|матери|отец|отца|"
                           r"папа|сосед|соседа|соседка|соседки|внук|внучка|брат|брата|сестра|сестры|ұлым|қызым|"
                           r"әкем|анам|көршім)\s*[:,\-]?\s*",
                           re.IGNORECASE)
# Street keywords: "ул. Абая", "проспект Кабанбай батыра", "Кенесары көшесі" name streets, not people.
_STREET_WORDS = (r"ул|улица|улице|улицы|улицу|пр|пр-т|пр-кт|проспект\w*|мкр|микрорайон\w*|пер|переулок\w*|бульвар\w*|"
                 r"б-р|шоссе|им|имени|площад\w*|сквер\w*|парк\w*|школ\w*|гимнази\w*|лице\w*|жк|"
                 r"перекр[её]ст\w*|пересечени\w*|углу|угол")
_STREET_BEFORE = re.compile(rf"(?<!\w)(?:{_STREET_WORDS})\.?\s*$", re.IGNORECASE)
_STREET_WORD = re.compile(rf"(?:{_STREET_WORDS})", re.IGNORECASE)
# The second street of an intersection: "на перекрёстке Абая и Габидена Мустафина".
_SECOND_STREET = re.compile(r"(?<!\w)(?:перекр[её]ст\w*|пересечени\w*|углу)\s+\S+(?:\s+\S+){0,2}\s+и\s+$",
                            re.IGNORECASE)
_STREET_AFTER = re.compile(r"^\s*(?:көшесі|даңғылы|даңғ|ауданы|шағын|ықшам|батыр|көш)", re.IGNORECASE)
_MAX_TRIGGERED_WORDS = 3
# A lone first name counts next to contact data ("тел 8 702 555 66 77 Айгуль", "спросить Марата"): a phone-long number or
# an e-mail within this many characters.
_CONTACT = re.compile(r"\d(?:[\s\-().]*\d){9,}|@")  # ten digits: a phone, not a date
_CONTACT_WINDOW = 40
# Case endings tried when a capitalized word is not a name as written (Марата, Айгуль -> Айгуль, Ержану).
_CASE_ENDINGS = ("ом", "ой", "ей", "ем", "а", "у", "е", "ы", "я", "ю", "и")
# Words that end a name typed in lower case after "меня зовут" (spaCy's Russian stop words, plus appeal verbs and
# Kazakh function words spaCy has no list for).
_NOT_A_NAME = frozenset(RUSSIAN_STOP_WORDS) | frozenset(
    "живу проживаю прошу пишу обращаюсь хочу жалуюсь спасибо заранее помогите пожалуйста здравствуйте "
    "тұрамын жазып сұраймын өтінемін рахмет және мен біз сіз бұл осы".split())


# Places the name lists also hold as names (Астана, Актау...): next to a phone they are the caller's city.
PLACE_NAMES = frozenset(
    "астана алматы актау атырау актобе шымкент караганда тараз павлодар семей костанай кокшетау уральск кызылорда "
    "петропавловск туркестан талдыкорган жезказган экибастуз темиртау есиль нура сарыарка байконур алатау "
    "москва бишкек ташкент".split())


@functools.lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """The vendored first-name lists, lower case, Kazakh letters folded, without place names."""
    names: set[str] = set()
    for file_name in NAME_LISTS:
        for line in (NAMES_DIR / file_name).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                names.add(line.translate(_FOLD))
    return frozenset(names - PLACE_NAMES)


@dataclass(slots=True)
class _Token:
    start: int
    end: int
    word: str
    cap: bool        # starts with a capital letter
    initial: bool    # one capital letter followed by a dot ("И.")
    first: bool      # a known first name
    patronymic: bool
    surname: bool    # ends like a surname


# Endings every patronymic form has; a cheap test before the regular expression.
_PATRONYMIC_TAILS = ("ич", "ича", "ичу", "ичем", "иче", "вна", "вны", "вне", "вну", "вной", "чна", "чны", "чне", "чну",
                     "чной", "ұлы", "улы", "қызы", "кызы")


def _tokens(text: str, names: frozenset[str]) -> list[_Token]:
    """Every word; only capitalized words get the name tests up front (lower-case words matter only as
    patronymics, or after a trigger, where spans() tests them itself)."""
    tokens = []
    for match in _WORD.finditer(text):
        word = match.group()
        start, end = match.span()
        if not word[0].isupper():
            patronymic = len(word) >= 6 and word.endswith(_PATRONYMIC_TAILS) and _is_patronymic(word.lower(), False, names)
            tokens.append(_Token(start, end, word, False, False, False, patronymic, False))
            continue
        lower = word.lower()
        initial = len(word) == 1 and end < len(text) and text[end] == "."
        if initial:
            end += 1
        tokens.append(_Token(
            start, end, word, True, initial,
            first=len(word) >= 2 and lower.translate(_FOLD) in names,
            patronymic=len(word) >= 6 and lower.endswith(_PATRONYMIC_TAILS) and _is_patronymic(lower, True, names),
            surname=len(word) >= 4 and _SURNAME.search(lower) is not None,
        ))
    return tokens


def _is_patronymic(lower: str, cap: bool, names: frozenset[str]) -> bool:
    """A father's name + -ович/-овна/-ұлы/-қызы... ("основной", "личной" end alike but come from no name)."""
    match = _PATRONYMIC.search(lower)
    if match is None:
        return False
    stem = lower[:match.start()].translate(_FOLD)
    # Петр-ович, Никола(й)-евна, Василь(ий)-евич, Никит(а)-ична, Серік-қызы.
    if {stem, stem + "й", stem[:-1] + "ий", stem + "а", stem + "я"} & names:
        return True
    return cap and _PATRONYMIC_NOMINATIVE.search(lower) is not None


def _opens_sentence(text: str, start: int) -> bool:
    return text[:start].rstrip()[-1:] in (".", "!", "?", "\n", "")


def _acronym(token: _Token) -> bool:
    """КСК, ЖКХ, ТОО: organizations, never part of a name (a name typed in capitals is a known first name)."""
    return len(token.word) > 1 and token.word.isupper() and not token.first


def _cyrillic_word(token: _Token) -> bool:
    """Three letters or more, Cyrillic ("Дарын No" - a school's "№" after NFKC - is not a name)."""
    return len(token.word) >= 3 and "а" <= token.word[-1].lower() <= "ӿ"


def _adjacent(text: str, left: _Token, right: _Token) -> bool:
    """Only spaces between the two words (an initial's own dot already belongs to it)."""
    gap = text[left.end:right.start]
    return gap == "" and left.initial or (gap != "" and gap.isspace() and "\n" not in gap)


class PersonNameRecognizer(DirectRecognizer):
    """Names from their shape, not from a model.

    A run of adjacent words is a name when it has a patronymic (-ович/-овна/-ұлы/-қызы... with the first name
    before it and a surname around it), initials next to a surname (Иванов И. И., И.И. Иванов), or a known first
    name next to a surname-like or another known name (Айгерим Сапарова, Нурлан Ахметжан). After "Меня зовут",
    "Менің атым", "Заявитель:", "ФИО:", "С уважением," up to three name-like words are taken, lower case too.
    Words right after a street keyword (ул. Абая, проспект Кабанбай батыра) are street names, never people.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._names = first_names()

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        tokens = _tokens(text, self._names)
        found: list[tuple[int, int]] = []
        strong_ends = {m.end() for m in _STRONG_TRIGGER.finditer(text)}
        trigger_ends = strong_ends | {m.end() for m in _WEAK_TRIGGER.finditer(text)}
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token.start in trigger_ends:
                j = i
                while j < len(tokens) and j - i < _MAX_TRIGGERED_WORDS and (j == i or _adjacent(text, tokens[j - 1], tokens[j])):
                    candidate = tokens[j]
                    if candidate.word.lower() in _NOT_A_NAME:
                        break
                    # A name typed all in lower case: any word until a stop word; otherwise name-like words only.
                    typed_lower = token.start in strong_ends and candidate.word.islower() and tokens[i].word.islower()
                    if not (self._name_like(candidate) or typed_lower):
                        break
                    j += 1
                if j > i:
                    found.append((tokens[i].start, tokens[j - 1].end))
                    i = j
                    continue
            if token.patronymic and not token.cap:
                # A name typed in lower case ("дана серіковна"): the patronymic's ending gives it away; take up to
                # two words before it that are not stop words and not part of an earlier finding.
                lo = i
                while lo > i - 2 and lo > 0 and _adjacent(text, tokens[lo - 1], tokens[lo]) \
                        and tokens[lo - 1].word.lower() not in _NOT_A_NAME \
                        and (not found or tokens[lo - 1].start >= found[-1][1]):
                    lo -= 1
                if lo < i:
                    found.append((tokens[lo].start, token.end))
                    i += 1
                    continue
            if not (token.cap or token.patronymic) or self._street_name(text, tokens, i):
                i += 1
                continue
            j = i + 1  # the chain of adjacent capitalized words (and initials) starting at i
            while j < len(tokens) and j - i < 6 and (tokens[j].cap or (tokens[j].patronymic and tokens[j - 1].first)) \
                    and _adjacent(text, tokens[j - 1], tokens[j]):
                j += 1
            keyword = next((k for k in range(i, j) if _STREET_WORD.fullmatch(tokens[k].word)), None)
            if keyword is not None:  # "Улица Александра Пушкина ...": what follows the keyword names the street
                i = j
                continue
            span = self._person_in_chain(text, tokens[i:j])
            if span is None and j == i + 1 and self._contact_name(text, token):
                span = token.start, token.end
            if span is not None:
                found.append(span)
                i = j
                continue
            # A trigger inside the chain ("Сын Данияр"): the words after it get their turn.
            i = next((k for k in range(i + 1, j) if tokens[k].start in trigger_ends), j)
        return found

    def _contact_name(self, text: str, token: _Token) -> bool:
        """A capitalized known first name (any case form) standing alone next to a phone number or e-mail."""
        if not token.cap or token.word.isupper() or len(token.word) < 3 or _opens_sentence(text, token.start):
            return False  # "Рахмет." and "Астана, тел. ..." open sentences; a contact name follows the number
        lower = token.word.lower().translate(_FOLD)
        if lower in PLACE_NAMES or token.word.lower() in _NOT_A_NAME:
            return False  # "... 43-04-00 Рахмет." is thanks, not Mr Rakhmet
        if not (token.first or any(lower.endswith(e) and len(lower) - len(e) >= 4 and lower[:-len(e)] in self._names
                                   for e in _CASE_ENDINGS)):
            return False
        window = text[max(0, token.start - _CONTACT_WINDOW):token.end + _CONTACT_WINDOW]
        return _CONTACT.search(window) is not None

    def _name_like(self, token: _Token) -> bool:
        if token.cap or token.patronymic:
            return True
        lower = token.word.lower()
        return lower.translate(_FOLD) in self._names or (len(lower) >= 4 and _SURNAME.search(lower) is not None)

    @staticmethod
    def _street_name(text: str, tokens: list[_Token], i: int) -> bool:
        before = text[max(0, tokens[i].start - 60):tokens[i].start]
        if _STREET_BEFORE.search(before) or _SECOND_STREET.search(before):
            return True
        j = i
        while j + 1 < len(tokens) and j - i < 3 and tokens[j + 1].cap and _adjacent(text, tokens[j], tokens[j + 1]):
            j += 1
        return _STREET_AFTER.match(text, tokens[j].end) is not None

    @staticmethod
    def _person_in_chain(text: str, chain: list[_Token]) -> tuple[int, int] | None:
        # Acronyms (КСК, ЖКХ, ТОО) are organizations, never part of a name.
        while chain and _acronym(chain[0]):
            chain = chain[1:]
        if not chain:
            return None
        sentence_start = _opens_sentence(text, chain[0].start)
        initials = [k for k, t in enumerate(chain) if t.initial]
        if any(t.patronymic for t in chain):
            p = next(k for k, t in enumerate(chain) if t.patronymic)
            lo = hi = p
            if p >= 1 and not chain[p - 1].initial:
                lo = p - 1  # the first name
                # A surname before "Имя Отчество": a surname shape, or any capitalized word not opening the sentence.
                if p >= 2 and (chain[p - 2].surname or not (sentence_start and p - 2 == 0)):
                    lo = p - 2
            if p + 1 < len(chain) and not chain[p + 1].initial and (lo >= p - 1 or chain[p + 1].surname):
                hi = p + 1
            if lo == hi == p:
                return None  # a lone "-ична" word: an adjective as often as a patronymic
            return chain[lo].start, chain[hi].end
        if initials:
            # Иванов И. И. / И.И. Иванов / А. Жумабаев: the word next to the initials is the surname.
            first_initial, last_initial = initials[0], initials[-1]
            before = first_initial - 1 if first_initial >= 1 and not _acronym(chain[first_initial - 1]) else None
            after = last_initial + 1 if last_initial + 1 < len(chain) and not chain[last_initial + 1].initial else None
            if before is not None and (chain[before].surname or chain[before].first or after is None
                                       or not (sentence_start and before == 0)):
                surname, lo, hi = before, before, last_initial
            elif after is not None:
                surname, lo, hi = after, first_initial, after
            else:
                return None
            # One initial: a surname shape, a known name, or a pair that does not open the sentence.
            strong = len(initials) >= 2 or chain[surname].surname or chain[surname].first \
                or not (sentence_start and lo == 0)
            if strong and not chain[surname].word.isupper():
                return chain[lo].start, chain[hi].end
            return None
        for k in range(len(chain) - 1):
            a, b = chain[k], chain[k + 1]
            if a.word.isupper() != b.word.isupper():
                continue
            if a.word.isupper() and not (a.first or b.first):
                continue
            pair = (a.first and (b.surname or b.first)) or (a.surname and b.first)
            # A known first name next to any capitalized word (Нурлан Ахметжан, Әбдіқадыр Канат), or a surname
            # shape before a capitalized word (Искакова Дана) - unless the pair opens the sentence.
            loose = (a.first or b.first or a.surname or b.surname) and not (sentence_start and k == 0) \
                and _cyrillic_word(a) and _cyrillic_word(b)
            if pair or loose:
                return a.start, b.end
        return None
