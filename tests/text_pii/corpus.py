"""Generated Russian/Kazakh evaluation texts with planted PII (ground truth) and PII look-alikes."""

from __future__ import annotations

import datetime
import random
import re
import string
import uuid
from dataclasses import dataclass, field
from typing import Callable

from pipeline.text_pii.recognizers.checksum import iban_mod97_ok, kz_control_digit, luhn_ok
from pipeline.text_pii.recognizers.kz_bin import bin_verdict
from pipeline.text_pii.recognizers.kz_iin import iin_verdict


@dataclass
class Sample:
    """One text with the exact spans of the PII planted in it."""

    text: str
    language: str
    entities: list[tuple[str, int, int]] = field(default_factory=list)
    # Spans of planted non-PII look-alikes (kind, start, end): findings there are false positives.
    lookalikes: list[tuple[str, int, int]] = field(default_factory=list)


# ---------------------------------------------------------------- identifiers

def _with_control(head11: str) -> str | None:
    control = kz_control_digit(head11)
    return None if control is None else head11 + str(control)


def make_iin(rng: random.Random, foreigner: bool = False) -> str:
    """A valid IIN; foreigner=True puts 0 in the century/sex position."""
    while True:
        born = datetime.date(1935, 1, 1) + datetime.timedelta(days=rng.randrange(0, 88 * 365))
        if foreigner:
            marker = "0"
        else:
            base = {1800: 1, 1900: 3, 2000: 5}[born.year // 100 * 100]
            marker = str(base + rng.randrange(2))
        iin = _with_control(born.strftime("%y%m%d") + marker + f"{rng.randrange(10_000):04d}")
        if iin:
            return iin


def make_bin(rng: random.Random) -> str:
    """A valid BIN: YYMM, entity type 4/5/6, office-kind digit 0-4, serial, control digit."""
    while True:
        head = f"{rng.randrange(100):02d}{rng.randrange(1, 13):02d}{rng.choice('456')}{rng.randrange(5)}"
        bin_ = _with_control(head + f"{rng.randrange(100_000):05d}")
        if bin_:
            return bin_


def make_bad_checksum_iin(rng: random.Random) -> str:
    """An IIN whose date and century digit are right but whose control digit is wrong."""
    iin = make_iin(rng)
    wrong = (int(iin[-1]) + rng.randrange(1, 10)) % 10
    return iin[:-1] + str(wrong)


def make_non_id_12_digits(rng: random.Random) -> str:
    """Twelve digits that are neither an IIN nor a BIN (order/contract numbers)."""
    while True:
        candidate = f"{rng.randrange(10**11, 10**12)}"
        if iin_verdict(candidate) is False and not bin_verdict(candidate):
            return candidate


def make_card(rng: random.Random, length: int = 16) -> str:
    prefix = rng.choice(["4", "51", "53", "55", "2200", "2202", "2221", "62"])
    if length == 15:
        prefix = rng.choice(["34", "37"])
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for last in string.digits:
        if luhn_ok(body + last):
            return body + last
    raise AssertionError("unreachable: one Luhn digit always fits")


def make_non_luhn_16(rng: random.Random) -> str:
    """16 digits starting like a card whose Luhn check fails (transaction ids)."""
    while True:
        candidate = rng.choice("2456") + "".join(rng.choice(string.digits) for _ in range(15))
        if not luhn_ok(candidate):
            return candidate


def make_iban(rng: random.Random, valid: bool = True) -> str:
    bank = f"{rng.randrange(100, 1000)}"
    account = "".join(rng.choice(string.digits + "KZT") for _ in range(13))
    for check in range(100):
        iban = f"KZ{check:02d}{bank}{account}"
        if iban_mod97_ok(iban) == valid:
            return iban
    raise AssertionError("unreachable: 1 of 97 check values is valid")


def group4(value: str, sep: str = " ") -> str:
    return sep.join(value[i:i + 4] for i in range(0, len(value), 4))


MOBILE_CODES = ["700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777", "778"]
MOBILE_FORMATS: list[Callable[[str, str], str]] = [
    lambda c, n: f"+7 {c} {n[:3]} {n[3:5]} {n[5:]}",
    lambda c, n: f"+7 ({c}) {n[:3]}-{n[3:5]}-{n[5:]}",
    lambda c, n: f"8 {c} {n[:3]} {n[3:]}",
    lambda c, n: f"8{c}{n}",
    lambda c, n: f"+7{c}{n}",
    lambda c, n: f"8-{c}-{n[:3]}-{n[3:5]}-{n[5:]}",
    lambda c, n: f"+7({c}){n}",
    lambda c, n: f"8 ({c}) {n[:3]}-{n[3:5]}-{n[5:]}",
    lambda c, n: f"7{c}{n}",
]
LANDLINE_FORMATS: list[Callable[[str], str]] = [
    lambda n: f"8 (7172) {n[:2]}-{n[2:4]}-{n[4:]}",
    lambda n: f"+7 7172 {n[:2]} {n[2:4]} {n[4:]}",
    lambda n: f"(7172) {n[:2]}-{n[2:4]}-{n[4:]}",
    lambda n: f"8 7172 {n}",
]


def make_mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_FORMATS)(rng.choice(MOBILE_CODES), f"{rng.randrange(10**7):07d}")


def make_unprefixed_mobile(rng: random.Random) -> str:
    n = f"{rng.randrange(10**7):07d}"
    return f"{rng.choice(MOBILE_CODES)} {n[:3]} {n[3:5]} {n[5:]}"


def make_landline(rng: random.Random) -> str:
    return rng.choice(LANDLINE_FORMATS)(f"{rng.randrange(200_000, 800_000)}")


LOGINS = ["ivan", "aigerim", "nurlan.s", "dana_k", "serik77", "a.bekova", "timur+city", "zhanna-m", "aliya.nurlanovna"]
DOMAINS = ["mail.kz", "gmail.com", "yandex.kz", "inbox.ru", "astana.gov.kz", "bk.ru", "outlook.com", "kaspi.kz"]


def make_email(rng: random.Random) -> str:
    return f"{rng.choice(LOGINS)}{rng.choice(['', str(rng.randrange(100))])}@{rng.choice(DOMAINS)}"


def make_ipv4(rng: random.Random) -> str:
    return ".".join(str(rng.randrange(1, 255)) for _ in range(4))


def make_ipv6(rng: random.Random) -> str:
    groups = [f"{rng.randrange(0x10000):x}" for _ in range(8)]
    return ":".join(groups) if rng.random() < 0.5 else f"2001:db8::{groups[0]}:{groups[1]}"


def make_url(rng: random.Random) -> str:
    host = rng.choice(["egov.kz", "astana.gov.kz", "op.kz", "e-otinish.kz", "app.astana.kz"])
    path = rng.choice(["", "/services/12", "/appeal?id=" + str(rng.randrange(10**6)), "/profile/settings"])
    if rng.random() < 0.25:
        return f"www.{host}{path}"
    return f"{rng.choice(['https://', 'http://'])}{host}{path}"


# ---------------------------------------------------------------- look-alikes (never PII)

def make_timestamp(rng: random.Random) -> str:
    moment = datetime.datetime(2023, 1, 1) + datetime.timedelta(seconds=rng.randrange(0, 3 * 365 * 86400))
    return rng.choice([
        moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        moment.strftime("%d.%m.%Y %H:%M:%S"),
        str(int(moment.timestamp() * 1000)),  # unix milliseconds, 13 digits
        str(int(moment.timestamp())),  # unix seconds, 10 digits
    ])


def make_date(rng: random.Random) -> str:
    day = datetime.date(2020, 1, 1) + datetime.timedelta(days=rng.randrange(0, 2000))
    return rng.choice([day.strftime("%d.%m.%Y"), day.isoformat(), day.strftime("%d/%m/%y")])


def make_time(rng: random.Random) -> str:
    return f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"


def make_order(rng: random.Random) -> str:
    return rng.choice([f"{rng.randrange(10**5, 10**8)}", f"A-{rng.randrange(10**6):06d}", make_non_id_12_digits(rng)])


def make_amount(rng: random.Random) -> str:
    return rng.choice([f"{rng.randrange(1, 999)} {rng.randrange(1000):03d}", f"{rng.randrange(100, 99999)}.{rng.randrange(100):02d}"])


def make_version(rng: random.Random) -> str:
    return rng.choice(["v", "версия ", "нұсқасы "]) + ".".join(str(rng.randrange(1, 30)) for _ in range(4))


LOOKALIKES: dict[str, Callable[[random.Random], str]] = {
    "TIMESTAMP": make_timestamp,
    "DATE": make_date,
    "TIME": make_time,
    "ORDER": make_order,
    "ORDER12": make_non_id_12_digits,
    "BAD_IIN": make_bad_checksum_iin,
    "TXN16": make_non_luhn_16,
    "BAD_IBAN": lambda rng: make_iban(rng, valid=False),
    "AMOUNT": make_amount,
    "VERSION": make_version,
    "UUID": lambda rng: str(uuid.UUID(int=rng.getrandbits(128))),
}

# slot -> (entity type, generator)
PLANTED: dict[str, tuple[str, Callable[[random.Random], str]]] = {
    "IIN": ("IIN", make_iin),
    "IIN_FOREIGN": ("IIN", lambda rng: make_iin(rng, foreigner=True)),
    "BIN": ("BIN", make_bin),
    "PHONE": ("PHONE", make_mobile),
    "PHONE_LOCAL": ("PHONE", make_unprefixed_mobile),
    "LANDLINE": ("PHONE", make_landline),
    "EMAIL": ("EMAIL", make_email),
    "CARD": ("CARD", lambda rng: rng.choice([
        make_card(rng), group4(make_card(rng)), group4(make_card(rng), "-"), make_card(rng, 15)])),
    "IBAN": ("IBAN", lambda rng: rng.choice([make_iban(rng), group4(make_iban(rng))])),
    "IP": ("IP_ADDRESS", lambda rng: make_ipv4(rng) if rng.random() < 0.7 else make_ipv6(rng)),
    "URL": ("URL", make_url),
}

TEMPLATES = {
    "ru": [
        "Здравствуйте! Мой ИИН {IIN}, прошу перерассчитать начисления за отопление.",
        "Не могу войти в приложение, номер телефона {PHONE}, код не приходит уже {TIME}.",
        "Пишите на почту {EMAIL}, жду ответа по заявке № {ORDER}.",
        "Оплатил картой {CARD} {DATE}, но штраф всё ещё висит.",
        "Реквизиты для возврата: ИИК {IBAN}, БИН {BIN}.",
        "ТОО с БИН {BIN} не вывезло мусор по адресу ул. Кенесары 40, кв. 12.",
        "Ошибка соединения с сервером {IP} в {TIME}, запрос {UUID}.",
        "Не открывается страница {URL}, {VERSION}.",
        "Контактный телефон: {PHONE}. Заявка {ORDER} от {DATE}.",
        "ИИН ребенка {IIN}, запись в детский сад, звоните {PHONE}.",
        "{PHONE} — перезвоните, пожалуйста, по поводу заявки {ORDER}.",
        "Сумма платежа {AMOUNT} тг, транзакция {TXN16}, карта {CARD}.",
        "Я иностранный гражданин, ИИН {IIN_FOREIGN}, вопрос по ВНЖ.",
        "тел. {PHONE_LOCAL} (звонить после 18:00)",
        "Горячая линия акимата {LANDLINE} не отвечает с {TIME}.",
        "Почему номер {BAD_IIN} не принимается? Проверьте, пожалуйста.",
        "Заявка № {ORDER12} от {DATE} всё ещё не рассмотрена.",
        "Событие {TIMESTAMP}: таймаут при оплате, код {ORDER}.",
        "Счёт {BAD_IBAN} не найден, сумма {AMOUNT} тг.",
        "Номер договора {ORDER12}, дата {DATE}, время {TIME}.",
        "Обновите приложение, {VERSION} устарела, сборка {ORDER}.",
    ],
    "kk": [
        "Сәлеметсіз бе! Менің ЖСН {IIN}, коммуналдық төлем бойынша сұрақ бар.",
        "Телефон нөмірім {PHONE}, кодты жібермейді.",
        "Электрондық пошта: {EMAIL}, өтінім № {ORDER}.",
        "Карта {CARD} арқылы {DATE} төледім, бірақ айыппұл әлі тұр.",
        "Қайтару деректемелері: ЖСК {IBAN}, БСН {BIN}.",
        "БСН {BIN} ЖШС қоқысты шығармады, Кенесары көшесі 40.",
        "{IP} серверімен байланыс қатесі, уақыты {TIME}, сұраныс {UUID}.",
        "Бет ашылмайды {URL}, қосымша {VERSION}.",
        "Шетел азаматымын, ЖСН {IIN_FOREIGN}, ықтиярхат туралы сұрақ.",
        "Ұялы: {PHONE_LOCAL}, кешке қоңырау шалыңыз.",
        "Әкімдіктің сенім телефоны {LANDLINE} {TIME} бастап жауап бермейді.",
        "Баламның ЖСН {IIN}, балабақшаға кезек, байланыс {PHONE}.",
        "Төлем сомасы {AMOUNT} теңге, транзакция {TXN16}, карта {CARD}.",
        "{BAD_IIN} нөмірі неге қабылданбайды?",
        "Өтінім № {ORDER12} {DATE} күні тіркелген, әлі қаралмады.",
        "Оқиға {TIMESTAMP}: төлем кезінде күту уақыты бітті, код {ORDER}.",
        "Шот {BAD_IBAN} табылмады, сомасы {AMOUNT} теңге.",
        "Шарт нөмірі {ORDER12}, күні {DATE}, уақыты {TIME}.",
    ],
}

_SLOT = re.compile(r"\{([A-Z0-9_]+)\}")


def render(template: str, language: str, rng: random.Random) -> Sample:
    """Fill a template's slots, recording the spans of planted PII."""
    sample = Sample(text="", language=language)
    pieces: list[str] = []
    length = 0
    cursor = 0
    for match in _SLOT.finditer(template):
        literal = template[cursor:match.start()]
        pieces.append(literal)
        length += len(literal)
        slot = match.group(1)
        if slot in PLANTED:
            entity_type, generate = PLANTED[slot]
            value = generate(rng)
            sample.entities.append((entity_type, length, length + len(value)))
        else:
            value = LOOKALIKES[slot](rng)
            sample.lookalikes.append((slot, length, length + len(value)))
        pieces.append(value)
        length += len(value)
        cursor = match.end()
    pieces.append(template[cursor:])
    sample.text = "".join(pieces)
    return sample


def build_corpus(n_per_language: int = 300, seed: int = 20240315, sentences_per_text: int = 1) -> list[Sample]:
    """Texts of 1+ filled templates each; every template is used about equally often."""
    rng = random.Random(seed)
    corpus = []
    for language, templates in TEMPLATES.items():
        for index in range(n_per_language):
            parts = [render(templates[(index + k * 7) % len(templates)], language, rng)
                     for k in range(sentences_per_text)]
            text, entities, lookalikes, offset = [], [], [], 0
            for part in parts:
                entities.extend((t, s + offset, e + offset) for t, s, e in part.entities)
                lookalikes.extend((k, s + offset, e + offset) for k, s, e in part.lookalikes)
                text.append(part.text)
                offset += len(part.text) + 1
            corpus.append(Sample(" ".join(text), language, entities, lookalikes))
    return corpus


@dataclass
class Scores:
    """Per-entity-type counts from comparing findings with planted spans (exact span match)."""

    true_positive: dict[str, int] = field(default_factory=dict)
    false_positive: dict[str, int] = field(default_factory=dict)
    false_negative: dict[str, int] = field(default_factory=dict)
    lookalikes: int = 0
    lookalikes_flagged: int = 0

    def precision(self, entity_type: str) -> float:
        tp = self.true_positive.get(entity_type, 0)
        predicted = tp + self.false_positive.get(entity_type, 0)
        return tp / predicted if predicted else 1.0

    def recall(self, entity_type: str) -> float:
        tp = self.true_positive.get(entity_type, 0)
        planted = tp + self.false_negative.get(entity_type, 0)
        return tp / planted if planted else 1.0

    def support(self, entity_type: str) -> int:
        return self.true_positive.get(entity_type, 0) + self.false_negative.get(entity_type, 0)

    @property
    def entity_types(self) -> list[str]:
        return sorted(set(self.true_positive) | set(self.false_positive) | set(self.false_negative))

    def lookalike_pass_rate(self) -> float:
        """Share of planted look-alikes that no finding touched."""
        return 1 - self.lookalikes_flagged / self.lookalikes if self.lookalikes else 1.0

    def overall_precision(self) -> float:
        tp = sum(self.true_positive.values())
        predicted = tp + sum(self.false_positive.values())
        return tp / predicted if predicted else 1.0


def score_corpus(corpus: list[Sample], analyze: Callable[[str, str], list]) -> Scores:
    """Run analyze(text, language) over the corpus and count exact-span hits per entity type."""
    scores = Scores()
    for sample in corpus:
        planted = set(sample.entities)
        found = {(f.entity_type, f.start, f.end) for f in analyze(sample.text, sample.language)}
        for entity_type, _, _ in found & planted:
            scores.true_positive[entity_type] = scores.true_positive.get(entity_type, 0) + 1
        for entity_type, _, _ in found - planted:
            scores.false_positive[entity_type] = scores.false_positive.get(entity_type, 0) + 1
        for entity_type, _, _ in planted - found:
            scores.false_negative[entity_type] = scores.false_negative.get(entity_type, 0) + 1
        for _, start, end in sample.lookalikes:
            scores.lookalikes += 1
            scores.lookalikes_flagged += any(s < end and start < e for _, s, e in found)
    return scores
