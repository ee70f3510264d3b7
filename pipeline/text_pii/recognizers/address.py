"""Street addresses in Russian and Kazakh: street keyword, street name, house, then building/apartment/entrance."""

from __future__ import annotations

from typing import Iterable

import regex

from .direct import DirectRecognizer

# Russian street types come before the name (ул. Абая), Kazakh ones after it (Абай даңғылы).
STREET_BEFORE_NAME = (r"ул\.?|ул-ца|улица|улице|улицы|пр\.|пр(?=\s+\p{Lu})|пр-т|пр-кт|просп\.?|проспект\w*|мкр\.?|мкрн\.?|мкр-н|"
                      r"микрорайон\w*|пер\.|переул\w*|б-р|бульвар\w*|шоссе|наб\.|набережн\w*|ж\.?м\.?|жилмассив\w*|"
                      r"трасс\w*|тупик\w*|проезд\w*|пл\.|жк")
STREET_AFTER_NAME = (r"көшесі\w*|көш\.|даңғылы\w*|даңғ\.|шағын\s+аудан\w*|ықшам\s?аудан\w*|ш\.\s?а\.?|тұйығы\w*|"
                     r"бульвары\w*|алаңы\w*|тас\s+жолы\w*")
# Words that introduce an address written without a street keyword ("проживаю по адресу: Абая 12, кв 5").
ADDRESS_INTRO = r"(?:по\s+)?адрес[а-я]*|мекенжай[а-я]*|мекен-жай[а-я]*|тұрамын|проживаю\s+(?:по|на)"
# Parts after the house: apartment, building, entrance, floor, office - before or after their number.
UNIT_WORDS = (r"кв\.?|кв-ра|квартир\w*|пәтер\w*|корп\.?|корпус\w*|к\.|стр\.?|строени\w*|блок\w*|подъезд\w*|под\.|"
              r"п\.|этаж\w*|эт\.|қабат\w*|офис\w*|оф\.|каб\.?|кабинет\w*|кіреберіс\w*|үй")

_HOUSE = (r"(?:(?:д\.|д(?=\s*\d)|дом|үй|зд\.|здание|уч\.|участок)\s*№?\s*)?\d{1,4}(?!\d)(?:\s?[а-яА-Яa-zA-Z](?![\p{L}\d]))?"
          r"(?:\s?[/\-]\s?\d{1,4}(?!\d)[а-яa-z]?){0,2}(?:\s*-?\s*үй(?!\w))?")
# A number followed by a unit of time, distance, count or temperature is not a house.
_NOT_HOUSE_AFTER = (r"(?!\s*(?:час|мин|сек|дн|дня|дней|сут|недел|месяц|год|лет|раз|шт|тг|тенге|руб|°|градус|%|"
                    r"км|метр|м\b|см|сағат|күн|жыл|ай\b|рет|минут|автобус|маршрут))")
_UNITS = (rf"(?:[,\s]*(?:(?:{UNIT_WORDS})\s*№?\s*\d{{1,4}}[а-я]?(?![\p{{L}}\d])"
          rf"|\d{{1,4}}[\s\-]*(?:ші|шы|-й|-я)?\s*(?:{UNIT_WORDS})(?![\p{{L}}\d])))*")
_NAME_WORD = r"[\p{L}\d][\p{L}\d\-'’]*\.?"
# Lower-case words that belong inside Kazakh street names (Қабанбай батыр, Мәңгілік Ел, Төле би).
_KK_NAME_PARTICLES = r"батыр|батыра|би|хан|хандар|ата|ана|ел|ақын|жырау|ер"
# After a Russian street keyword: the first word in any case, then capitalized words, numbers or these particles
# ("ул. Кабанбай батыра", "ул. 50 лет Октября", "ул. Шарля де Голля"); "улице Абая нет света" ends at "нет".
_RU_NAME_PARTICLES = r"батыра|батыр|би|ел|де|лет|хан|ата|ана|улы|ұлы|ақын|жырау|хандар|ди|ибн|аль"

_RU = regex.compile(
    rf"(?<![\p{{L}}\d])(?i:{STREET_BEFORE_NAME})\s*{_NAME_WORD}(?:\s*(?:\p{{Lu}}[\p{{L}}\d\-'’]*\.?|\d{{1,3}}(?!\d)|(?i:{_RU_NAME_PARTICLES})(?!\p{{L}}))){{0,3}}?"
    rf"[,\s]*{_HOUSE}{_NOT_HOUSE_AFTER}{_UNITS}",
)
_KK = regex.compile(
    rf"(?<![\p{{L}}\d])(?:(?:\d{{1,3}}(?:-ші|-шы)?|\p{{Lu}}[\p{{L}}\-]*)\s+)(?:(?:\p{{Lu}}[\p{{L}}\-]*|(?i:{_KK_NAME_PARTICLES}))\s+){{0,2}}"
    rf"(?i:{STREET_AFTER_NAME})[,\s]*{_HOUSE}{_NOT_HOUSE_AFTER}{_UNITS}",
)
_INTRO = regex.compile(
    rf"(?<=(?i:{ADDRESS_INTRO})\s*:?\s*)(?:\p{{Lu}}[\p{{L}}\-]*\s*){{1,3}}[,\s]*{_HOUSE}{_NOT_HOUSE_AFTER}{_UNITS}",
)
_TRAILING = " ,"


class AddressRecognizer(DirectRecognizer):
    """One span from the street keyword (or the first word of a Kazakh street name) to the last apartment,
    entrance or floor number. A street without a house number, or a house number without a street, is not an
    address here: "на улице Абая нет света" and "дом 5" stay."""

    def spans(self, text: str) -> Iterable[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        for pattern in (_RU, _KK, _INTRO):
            for match in pattern.finditer(text):
                start, end = match.span()
                while end > start and text[end - 1] in _TRAILING:
                    end -= 1
                found.append((start, end))
        found.sort()
        merged: list[tuple[int, int]] = []
        for start, end in found:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged
