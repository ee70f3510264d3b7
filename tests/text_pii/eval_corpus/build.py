"""Build the labelled evaluation corpus of RU/KZ appeal texts: `python -m tests.text_pii.eval_corpus.build`.

Each text carries its form, the spans of the personal data planted in it (type, start, end) and the tokens that must
not survive anonymization (digits compared without separators, words compared as words). Clean city-service texts
carry none: they must come back unchanged. Independent of the recognizers (imports nothing from pipeline.text_pii).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from . import formats as f
from .clean import clean

CORPUS_PATH = Path(__file__).resolve().parent / "corpus.jsonl"
TEXTS_PER_FORM = 200
CLEAN_TEXTS = 1500

# Complaints that open or close an appeal; no digits, so that planted numbers are the only ones in PII texts.
OPENERS_RU = ["Во дворе не вывозят мусор.", "В подъезде не работает лифт.", "Нет горячей воды.",
              "Прошу принять меры по освещению двора.", "На остановке сломан павильон.", "Жалоба на шум от стройки.",
              "Прошу отремонтировать дорогу у дома.", "Не работает светофор на перекрёстке.", "Течёт крыша.",
              "Прошу убрать наледь с тротуара.", "Добрый день!", "Здравствуйте.", "", "", "Помогите, пожалуйста."]
CLOSERS_RU = ["Спасибо.", "Прошу перезвонить.", "Жду ответа.", "Заранее благодарю!", "", "", "Срочно!",
              "Прошу решить вопрос как можно скорее."]
OPENERS_KK = ["Аулада қоқыс шығарылмайды.", "Подъезде лифт істемейді.", "Ыстық су жоқ.", "Сәлеметсіз бе!",
              "Жол жөндеуін сұраймын.", "Көше жарығы жанбайды.", "", "Көмектесіңізші."]
CLOSERS_KK = ["Рахмет.", "Қайта қоңырау шалуыңызды сұраймын.", "Жауап күтемін.", "", "Тезірек шешуді сұраймын."]


class Text:
    """A text built piece by piece, with the labelled spans and must-not-survive tokens of its PII."""

    def __init__(self, form: str, language: str):
        self.form, self.language = form, language
        self.parts: list[str] = []
        self.entities: list[dict] = []

    def add(self, piece: str) -> "Text":
        self.parts.append(piece)
        return self

    def pii(self, entity_type: str, written: str, digits: str = "", words: tuple[str, ...] = (),
            compact: str = "", numbers: tuple[str, ...] = ()) -> "Text":
        """digits: must not survive in the output's digits (separators dropped); words: as words; compact: in the
        output's letters and digits (upper case, Cyrillic look-alikes as Latin); numbers: as separate numbers."""
        start = sum(map(len, self.parts))
        self.parts.append(written)
        secrets = {"digits": digits, "words": [w for w in words if len(w) >= 2], "compact": compact,
                   "numbers": list(numbers)}
        self.entities.append({"type": entity_type, "start": start, "end": start + len(written),
                              "secrets": {k: v for k, v in secrets.items() if v}})
        return self

    def record(self) -> dict:
        return {"form": self.form, "language": self.language, "text": "".join(self.parts), "entities": self.entities}


def _frame(rng: random.Random, t: Text, body) -> dict:
    openers, closers = (OPENERS_KK, CLOSERS_KK) if t.language == "kk" else (OPENERS_RU, CLOSERS_RU)
    opener = rng.choice(openers)
    if opener:
        t.add(opener + " ")
    body(t)
    closer = rng.choice(closers)
    if closer:
        t.add(" " + closer)
    return t.record()


def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[^\W\d_]{2,}", text))


# ---------------------------------------------------------------- one builder per form

def iin_separated(rng, language="ru"):
    number = f.iin(rng)
    written = rng.choice(f.IIN_LAYOUTS)(number)
    lead, tail = rng.choice([("мой ИИН ", ""), ("ИИН: ", ""), ("ИИН:", ""), ("иин ", ""), ("ЖСН ", ""),
                             ("прошу проверить начисления (ИИН ", ")"), ("ИИН - ", ""), ("по ИИН ", " нет данных"),
                             ("ИИН заявителя ", ""), ("ИИН ребенка ", ", свидетельство потеряли"), ("(", ")")])
    return _frame(rng, Text("iin_separated", language),
                  lambda t: t.add(lead).pii("IIN", written, digits=number).add(tail))


def bin_separated(rng, language="ru"):
    number = f.bin_(rng)
    written = rng.choice(f.IIN_LAYOUTS)(number)
    lead = rng.choice(["БИН ", "БИН: ", "ТОО «Сервис Плюс», БИН ", "КСК, БИН:", "подрядчик (БИН ", "БСН "])
    return _frame(rng, Text("bin_separated", language),
                  lambda t: t.add(lead).pii("BIN", written, digits=number).add(")" if lead.endswith("(БИН ") else ""))


PHONE_LEADS_RU = ["тел. ", "мой номер ", "звоните ", "телефон: ", "контакт ", "WhatsApp ", "номер телефона ", "",
                  "прошу перезвонить на ", "сотовый ", "тел:", "связь по номеру "]


def mobile_layouts(rng, language="ru"):
    code, subscriber = f.mobile_digits(rng)
    written = rng.choice(f.MOBILE_LAYOUTS)(code, subscriber)
    return _frame(rng, Text("mobile_layouts", language),
                  lambda t: t.add(rng.choice(PHONE_LEADS_RU)).pii("PHONE", written, digits=code + subscriber))


def mobile_unicode(rng, language="ru"):
    code, subscriber = f.mobile_digits(rng)
    written = rng.choice(f.MOBILE_LAYOUTS[:3] + f.MOBILE_LAYOUTS[9:11])(code, subscriber)
    table = rng.choice([f.FULLWIDTH, f.FULLWIDTH, f.MATH_BOLD, f.ARABIC_INDIC])
    written = written.translate(table).replace(" ", rng.choice([" ", "\u00a0", "\u202f"]))
    return _frame(rng, Text("mobile_unicode", language),
                  lambda t: t.add(rng.choice(PHONE_LEADS_RU)).pii("PHONE", written, digits=code + subscriber))


def mobile_unprefixed(rng, language="ru"):
    code, subscriber = f.mobile_digits(rng)
    written = rng.choice(f.UNPREFIXED_LAYOUTS)(code, subscriber)
    return _frame(rng, Text("mobile_unprefixed", language),
                  lambda t: t.add(rng.choice(PHONE_LEADS_RU)).pii("PHONE", written, digits=code + subscriber))


def landline_kz(rng, language="ru"):
    city, code, subscriber = f.landline(rng)
    written = rng.choice(f.LANDLINE_LAYOUTS)(code, subscriber)
    lead = rng.choice(["домашний телефон ", f"{city}, тел. ", "рабочий: ", "звоните на городской ", "тел ",
                       "стационарный номер ", "КСК не отвечает по номеру "])
    return _frame(rng, Text("landline_kz", language),
                  lambda t: t.add(lead).pii("PHONE", written, digits=code + subscriber))


def phone_foreign(rng, language="ru"):
    written, national = f.foreign_number(rng)
    lead = rng.choice(["сын живёт в Москве, его номер ", "родственники в Бишкеке: ", "тел. ", "звоните на ",
                       "мой российский номер ", "WhatsApp "])
    return _frame(rng, Text("phone_foreign", language),
                  lambda t: t.add(lead).pii("PHONE", written, digits=national))


def kazakh_context(rng, language="kk"):
    def body(t: Text):
        choice = rng.randrange(3)
        if choice == 0:
            code, subscriber = f.mobile_digits(rng)
            layout = rng.choice(f.UNPREFIXED_LAYOUTS + f.MOBILE_LAYOUTS[:4])
            t.add(rng.choice(["Менің нөмірім ", "байланыс телефоны ", "ұялы телефон: ", "хабарласыңыз: ",
                              "Нөмірім: ", "маған қоңырау шалыңыз "]))
            t.pii("PHONE", layout(code, subscriber), digits=code + subscriber)
        elif choice == 1:
            number = f.iin(rng)
            t.add(rng.choice(["Менің ЖСН ", "ЖСН: ", "жеке сәйкестендіру нөмірі "]))
            t.pii("IIN", rng.choice(f.IIN_LAYOUTS)(number), digits=number)
        else:
            city, code, subscriber = f.landline(rng)
            t.add(rng.choice(["үй телефоны ", "қалалық нөмір: "]))
            t.pii("PHONE", rng.choice(f.LANDLINE_LAYOUTS)(code, subscriber), digits=code + subscriber)
    return _frame(rng, Text("kazakh_context", language), body)


def email_obfuscated(rng, language="ru"):
    login = rng.choice(f.LOGINS) + rng.choice(["", "", str(rng.randrange(10, 99))])
    name, tld = rng.choice(f.DOMAINS)
    kind = rng.randrange(8)
    if kind == 0:
        written = f"{login}(at){name}.{tld}"
    elif kind == 1:
        written = f"{login} [собака] {name}.{tld}"
    elif kind == 2:
        written = f"{login} at {name} dot {tld}"
    elif kind == 3:
        written = f"{login}@{name}.{tld}".upper()
    elif kind == 4:
        written = f"{login} (собака) {name} (точка) {tld}"
    elif kind == 5:
        written = f"{login}[at]{name}[dot]{tld}"
    elif kind == 6:
        login = rng.choice(f.CYRILLIC_LOGINS)
        name, tld = rng.choice(f.CYRILLIC_DOMAINS)
        written = f"{login}@{name}.{tld}"
    else:
        written = f"{login} собака {name} точка {tld}"
    lead = rng.choice(["пишите на ", "почта: ", "e-mail ", "ответ прошу направить на ", "мой email ", "эл. почта "])
    return _frame(rng, Text("email_obfuscated", language),
                  lambda t: t.add(lead).pii("EMAIL", written, words=(login.lower(),)))


def _person(rng, kazakh: bool, female: bool):
    first = rng.choice((f.KK_FEMALE if female else f.KK_MALE) if kazakh else (f.RU_FEMALE if female else f.RU_MALE))
    last = f.surname(rng.choice(f.KK_SURNAMES if kazakh else f.RU_SURNAMES), female)
    father = rng.choice(f.KK_FATHERS if kazakh else f.RU_FATHERS)
    middle = f.patronymic(father, female, kazakh_form=kazakh and rng.random() < 0.5, rng=rng)
    return first, last, middle


def name_full(rng, language="ru"):
    first, last, middle = _person(rng, kazakh=rng.random() < 0.6, female=rng.random() < 0.5)
    written = rng.choice([f"{last} {first} {middle}", f"{first} {middle} {last}", f"{first} {middle}",
                          f"{last} {first} {middle}", f"{first} {last}", f"{last} {first}"])
    lead = rng.choice(["Прошу разобраться, сосед ", "Обращаюсь от имени матери, ", "Участковый ",
                       "Квартиру занимает ", "Вопрос касается ", "Ответственный от КСК ", "Прошу связаться с ",
                       "Пенсионерка ", "Мастер "])
    tail = rng.choice([" не отвечает на звонки.", " обещал прийти, но не пришёл.", ", вопрос не решён.", "."])
    return _frame(rng, Text("name_full", language),
                  lambda t: t.add(lead).pii("PERSON", written, words=_words(written)).add(tail))


def name_initials(rng, language="ru"):
    first, last, middle = _person(rng, kazakh=rng.random() < 0.5, female=rng.random() < 0.5)
    i1, i2 = first[0], middle[0]
    written = rng.choice([f"{last} {i1}. {i2}.", f"{last} {i1}.{i2}.", f"{i1}.{i2}. {last}", f"{i1}. {i2}. {last}",
                          f"{last} {i1}.", f"{i1}. {last}"])
    lead = rng.choice(["Мастер участка ", "Заявление подал ", "Ответ подписал ", "Инспектор ", "Жалоба на ",
                       "Председатель КСК ", "Прошу наказать ", "С уважением, "])
    return _frame(rng, Text("name_initials", language),
                  lambda t: t.add(lead).pii("PERSON", written, words=(last,)).add(rng.choice(["", ".", ", спасибо."])))


def name_intro(rng, language="ru"):
    kazakh = rng.random() < 0.6
    first, last, middle = _person(rng, kazakh=kazakh, female=rng.random() < 0.5)
    written = rng.choice([first, f"{first} {last}", f"{last} {first}", f"{last} {first} {middle}"])
    if rng.random() < 0.2:
        written = written.lower()
    lead = rng.choice(["Меня зовут ", "Менің атым ", "Заявитель: ", "ФИО: ", "С уважением, ", "Моё имя ",
                       "К вам обращается ", "Құрметпен, ", "Аты-жөнім: "])
    tail = rng.choice([". Прошу помочь.", ", живу здесь давно.", "", "."])
    return _frame(rng, Text("name_intro", "kk" if lead in ("Менің атым ", "Құрметпен, ", "Аты-жөнім: ") else language),
                  lambda t: t.add(lead).pii("PERSON", written, words=_words(written)).add(tail))


def _house(rng) -> tuple[str, str]:
    number = str(rng.randrange(1, 120))
    suffix = rng.choice(["", "", "", "/1", "/2", "а", "Б", "/3"])
    return number + suffix, number + re.sub(r"\D", "", suffix)


def address_ru(rng, language="ru"):
    house, house_digits = _house(rng)
    flat = str(rng.randrange(1, 300))
    if rng.random() < 0.25:
        street = rng.choice(f.MICRODISTRICTS)
        head = f"{rng.choice(['мкр.', 'мкр', 'микрорайон'])} {street}{rng.choice(['', '-2', '-3'])}"
    else:
        street = rng.choice(f.STREETS_RU)
        kind = rng.choice(f.STREET_TYPES_RU)
        head = f"{kind}{'' if kind.endswith('.') and rng.random() < 0.3 else ' '}{street}"
    written = head + rng.choice([f", д. {house}, кв. {flat}", f" {house}, кв {flat}", f", дом {house}, квартира {flat}",
                                 f" {house}-{flat}", f", д.{house}, кв.{flat}", f" {house}, подъезд 2, кв. {flat}",
                                 f", {house}", f" д {house} кв {flat}"])
    numbers = [house_digits] + ([flat] if flat in written.split(",")[-1] or f"-{flat}" in written else [])
    lead = rng.choice(["Проживаю по адресу: ", "Адрес: ", "Мой адрес ", "Во дворе дома по ", "Прошу приехать на ",
                       "Затопило квартиру, ", "живу на "])
    return _frame(rng, Text("address_ru", language), lambda t: t.add(lead).pii(
        "ADDRESS", written, words=_words(street), numbers=tuple(numbers)))


def address_kk(rng, language="kk"):
    house, house_digits = _house(rng)
    flat = str(rng.randrange(1, 300))
    street = rng.choice(f.STREETS_KK)
    kind = "даңғылы" if street in f.AVENUES_KK else "көшесі"
    written = f"{street} {kind}" + rng.choice([f" {house}, {flat} пәтер", f", {house} үй, {flat} пәтер",
                                               f" {house}, пәтер {flat}", f" {house}", f", {house}-үй, {flat}-пәтер",
                                               f" {house}, 3-подъезд, {flat} пәтер"])
    numbers = [house_digits] + ([flat] if flat in written.replace(house, "", 1) else [])
    lead = rng.choice(["Мекенжайым: ", "Мен ", "Мекенжай: ", "Тұратын жерім ", "Үйіміз "])
    tail = rng.choice([" мекенжайында тұрамын.", "", ".", ", аулада жарық жоқ."])
    return _frame(rng, Text("address_kk", language), lambda t: t.add(lead).pii(
        "ADDRESS", written, words=_words(street), numbers=tuple(numbers)).add(tail))


def vehicle_plate(rng, language="ru"):
    digits, letters, region = f.plate(rng)
    if rng.random() < 0.35:
        letters = letters.translate(f.LOOKALIKE)
    written = rng.choice([f"{digits} {letters} {region}", f"{digits}{letters}{region}", f"{digits} {letters}{region}"])
    lead = rng.choice(["Машина с номером ", "Автомобиль ", "госномер ", "во дворе паркуется ", "гос. номер ",
                       "Такси ", "Көлік нөмірі "])
    if lead in ("госномер ", "гос. номер ") and rng.random() < 0.5:
        written = written.lower()
    compact = (digits + letters + region).upper().translate(str.maketrans("АВЕКМНОРСТХУ", "ABEKMHOPCTXY"))
    tail = rng.choice([" перекрывает проезд.", " стоит на газоне.", " каждый день на тротуаре.", ""])
    return _frame(rng, Text("vehicle_plate", language),
                  lambda t: t.add(lead).pii("VEHICLE_PLATE", written, compact=compact).add(tail))


def id_document(rng, language="ru"):
    if rng.random() < 0.7:
        number = "0" + "".join(str(rng.randrange(10)) for _ in range(8))
        written = rng.choice([number, f"{number[:3]} {number[3:6]} {number[6:]}"])
        lead = rng.choice(["удостоверение личности № ", "уд. л. ", "уд.л. №", "ID ", "удостоверение ",
                           "жеке куәлік нөмірі ", "номер удостоверения: "])
    else:
        number = "".join(str(rng.randrange(10)) for _ in range(8))
        written = "N" + number
        lead = rng.choice(["паспорт ", "паспорт № ", "паспорт: ", "төлқұжат "])
    return _frame(rng, Text("id_document", language),
                  lambda t: t.add(lead).pii("ID_DOCUMENT", written, digits=number))


def mixed(rng, language="ru"):
    """Two or three of the forms above in one appeal, with an appeal number between them (precision in PII texts)."""
    parts = [rng.choice([name_intro, mobile_layouts, iin_separated, address_ru, email_obfuscated, vehicle_plate,
                         name_full, mobile_unprefixed, landline_kz, id_document])(rng) for _ in range(rng.choice([2, 3]))]
    text, entities = "", []
    for index, part in enumerate(parts):
        if index:
            text += rng.choice([" ", " Заявка № %d. " % rng.randrange(10**5, 10**9), " Обращение %d. " % rng.randrange(10**6, 10**9)])
        entities += [{**e, "start": e["start"] + len(text), "end": e["end"] + len(text)} for e in part["entities"]]
        text += part["text"]
    return {"form": "mixed", "language": language, "text": text, "entities": entities}


FORMS = {
    "iin_separated": iin_separated, "bin_separated": bin_separated, "mobile_layouts": mobile_layouts,
    "mobile_unicode": mobile_unicode, "mobile_unprefixed": mobile_unprefixed, "landline_kz": landline_kz,
    "phone_foreign": phone_foreign, "kazakh_context": kazakh_context, "email_obfuscated": email_obfuscated,
    "name_full": name_full, "name_initials": name_initials, "name_intro": name_intro, "address_ru": address_ru,
    "address_kk": address_kk, "vehicle_plate": vehicle_plate, "id_document": id_document, "mixed": mixed,
}

def build(seed: int = 16, per_form: int = TEXTS_PER_FORM, clean_texts: int = CLEAN_TEXTS) -> list[dict]:
    """Every form's texts, then the clean ones; distinct texts only."""
    rng = random.Random(seed)
    records: list[dict] = []
    seen: set[str] = set()
    for form, make in FORMS.items():
        made = 0
        while made < per_form:
            record = make(rng)
            if record["text"] not in seen:
                seen.add(record["text"])
                records.append(record)
                made += 1
    attempts = 0
    made = 0
    while made < clean_texts and attempts < clean_texts * 5:
        attempts += 1
        record = clean(rng)
        if record["text"] not in seen:
            seen.add(record["text"])
            records.append(record)
            made += 1
    return records


def load(path: Path = CORPUS_PATH) -> list[dict]:
    """The committed corpus."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def main() -> None:
    records = build()
    with CORPUS_PATH.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{len(records)} texts -> {CORPUS_PATH}")


if __name__ == "__main__":
    main()
