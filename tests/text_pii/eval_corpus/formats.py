"""Personal data in the public formats (numbering plans, IIN rules, plate format, street names), for the corpus.

Written from the formats, not from the recognizers: nothing here imports pipeline.text_pii.
"""

from __future__ import annotations

import datetime
import random

# ---------------------------------------------------------------- identifiers (IIN/BIN rules, public)

_W1 = list(range(1, 12))
_W2 = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]


def _control(head: str) -> int | None:
    for weights in (_W1, _W2):
        value = sum(int(d) * w for d, w in zip(head, weights)) % 11
        if value != 10:
            return value
    return None


def iin(rng: random.Random) -> str:
    """YYMMDD, century/sex digit, 4-digit serial, control digit."""
    while True:
        born = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(0, 83 * 365))
        marker = {1900: 3, 2000: 5}[born.year // 100 * 100] + rng.randrange(2)
        head = born.strftime("%y%m%d") + str(marker) + f"{rng.randrange(10_000):04d}"
        control = _control(head)
        if control is not None:
            return head + str(control)


def bin_(rng: random.Random) -> str:
    """YYMM, legal-entity type 4/5/6, office digit, 5-digit serial, control digit."""
    while True:
        head = f"{rng.randrange(95, 124) % 100:02d}{rng.randrange(1, 13):02d}{rng.choice('456')}{rng.randrange(4)}" \
               f"{rng.randrange(100_000):05d}"
        control = _control(head)
        if control is not None:
            return head + str(control)


IIN_LAYOUTS = [
    lambda d: d,
    lambda d: f"{d[:6]} {d[6:]}",
    lambda d: f"{d[:4]} {d[4:8]} {d[8:]}",
    lambda d: f"{d[:6]}-{d[6:9]}-{d[9:]}",
    lambda d: f"{d[:6]}.{d[6:9]}.{d[9:]}",
    lambda d: f"{d[:3]} {d[3:6]} {d[6:9]} {d[9:]}",
    lambda d: f"{d[:6]}-{d[6:]}",
    lambda d: f"{d[:4]}-{d[4:8]}-{d[8:]}",
]

# ---------------------------------------------------------------- phones (numbering plans)

# Kazakhstan mobile codes (Kcell/activ 701-702/775/778, Beeline 705/777/771/776, Tele2/Altel 707/747/700/708).
KZ_MOBILE_CODES = ["700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777", "778"]
# Kazakhstan city codes; the subscriber number fills the 10-digit national number.
KZ_CITY_CODES = {"Алматы": "727", "Астана": "7172", "Караганда": "7212", "Шымкент": "7252", "Актобе": "7132",
                 "Атырау": "7122", "Павлодар": "7182", "Усть-Каменогорск": "7232", "Тараз": "7262",
                 "Костанай": "7142", "Уральск": "7112", "Актау": "7292", "Кызылорда": "7242",
                 "Петропавловск": "7152", "Семей": "7222", "Кокшетау": "7162"}
# Russian mobile codes (9xx) and a few city codes; other countries: code, national lengths and leading digits.
RU_MOBILE_CODES = ["901", "903", "905", "909", "912", "915", "916", "917", "921", "926", "952", "965", "977", "985"]
FOREIGN = [("996", "5", 9), ("996", "7", 9), ("998", "9", 9), ("90", "53", 10), ("49", "151", 11), ("44", "7", 10),
           ("1", "212", 10), ("86", "13", 11), ("992", "9", 9), ("994", "50", 9)]


def mobile_digits(rng: random.Random) -> tuple[str, str]:
    """(code, 7-digit subscriber number) of a KZ mobile."""
    return rng.choice(KZ_MOBILE_CODES), f"{rng.randrange(1_000_000, 10_000_000)}"


MOBILE_LAYOUTS = [
    lambda c, n: f"+7 {c} {n[:2]} {n[2:4]} {n[4:]}",
    lambda c, n: f"+7 {c} {n[:3]} {n[3:5]} {n[5:]}",
    lambda c, n: f"8.{c}.{n[:3]}.{n[3:5]}.{n[5:]}",
    lambda c, n: f"8\u2013{c}\u2013{n[:3]}\u2013{n[3:5]}\u2013{n[5:]}",
    lambda c, n: f"8 \u2014 {c} \u2014 {n}",
    lambda c, n: f"8({c}){n}",
    lambda c, n: f"+7({c}){n[:3]}-{n[3:5]}-{n[5:]}",
    lambda c, n: f"8 {c} {n}",
    lambda c, n: f"+7 {c} {n[:3]} {n[3:]}",
    lambda c, n: f"8{c}{n}",
    lambda c, n: f"+7{c}{n}",
    lambda c, n: f"+7-{c}-{n[:3]}-{n[3:5]}-{n[5:]}",
    lambda c, n: f"8 ({c}) {n[:3]} {n[3:5]} {n[5:]}",
    lambda c, n: f"+7 ({c}) {n[:3]}-{n[3:]}",
    lambda c, n: f"8/{c}/{n}",
]
UNPREFIXED_LAYOUTS = [
    lambda c, n: f"{c} {n[:3]} {n[3:5]} {n[5:]}",
    lambda c, n: f"({c}) {n[:3]}-{n[3:5]}-{n[5:]}",
    lambda c, n: f"{c}-{n[:3]}-{n[3:5]}-{n[5:]}",
    lambda c, n: f"{c}{n}",
    lambda c, n: f"{c} {n}",
    lambda c, n: f"{c}.{n[:3]}.{n[3:5]}.{n[5:]}",
]


def landline(rng: random.Random) -> tuple[str, str, str]:
    """(city, code, subscriber number) - the subscriber number starts with 2-5 as city numbers do."""
    city = rng.choice(list(KZ_CITY_CODES))
    code = KZ_CITY_CODES[city]
    length = 10 - len(code)
    return city, code, str(rng.randrange(2, 6)) + "".join(str(rng.randrange(10)) for _ in range(length - 1))


LANDLINE_LAYOUTS = [
    lambda c, n: f"+7 ({c}) {n[:-4]}-{n[-4:-2]}-{n[-2:]}",
    lambda c, n: f"8 ({c}) {n}",
    lambda c, n: f"8{c}{n}",
    lambda c, n: f"8 {c} {n[:-4]}-{n[-4:-2]}-{n[-2:]}",
    lambda c, n: f"+7 {c} {n[:-4]} {n[-4:-2]} {n[-2:]}",
    lambda c, n: f"({c}) {n[:-4]}-{n[-4:-2]}-{n[-2:]}",
    lambda c, n: f"+7{c}{n}",
]


def foreign_number(rng: random.Random) -> tuple[str, str]:
    """(written number, national significant digits)."""
    if rng.random() < 0.5:
        code, n = rng.choice(RU_MOBILE_CODES), f"{rng.randrange(1_000_000, 10_000_000)}"
        written = rng.choice([f"+7 {code} {n[:3]}-{n[3:5]}-{n[5:]}", f"8 {code} {n}", f"+7({code}){n}",
                              f"8-{code}-{n[:3]}-{n[3:5]}-{n[5:]}", f"+7 ({code}) {n[:3]} {n[3:5]} {n[5:]}"])
        return written, code + n
    country, lead, length = rng.choice(FOREIGN)
    rest = "".join(str(rng.randrange(2, 10) if i == 0 and country == "1" else rng.randrange(10))
                   for i in range(length - len(lead)))
    national = lead + rest
    if country == "1":
        national = "212" + str(rng.randrange(2, 10)) + national[4:]
    groups = " ".join(national[i:i + 3] for i in range(0, len(national), 3))
    written = rng.choice([f"+{country} {groups}", f"+{country}{national}", f"+{country} ({national[:3]}) {national[3:]}"])
    return written, national


FULLWIDTH = str.maketrans("0123456789+()-", "０１２３４５６７８９＋（）－")
MATH_BOLD = str.maketrans("0123456789", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

# ---------------------------------------------------------------- e-mail

LOGINS = ["ivanov.s", "aigerim_92", "nurlan.serikov", "dana.k", "serik77", "zhanna.m", "timur.a", "saule1985",
          "erlan_b", "madina.zh", "askar.t", "gulnara.n", "bekzat07", "olga.petrova", "dias_ast"]
DOMAINS = [("mail", "ru"), ("gmail", "com"), ("yandex", "kz"), ("inbox", "ru"), ("bk", "ru"), ("mail", "kz"),
           ("list", "ru"), ("outlook", "com"), ("yahoo", "com")]
CYRILLIC_DOMAINS = [("почта", "рф"), ("пример", "рф"), ("пошта", "қаз"), ("сайт", "қаз")]
CYRILLIC_LOGINS = ["иван", "айгерим", "нурлан", "сауле", "дина"]

# ---------------------------------------------------------------- names

RU_MALE = ["Иван", "Сергей", "Алексей", "Дмитрий", "Андрей", "Михаил", "Николай", "Владимир", "Павел", "Олег",
           "Виктор", "Евгений", "Артём", "Константин", "Юрий", "Геннадий", "Василий", "Станислав"]
RU_FEMALE = ["Ольга", "Татьяна", "Елена", "Наталья", "Ирина", "Светлана", "Марина", "Людмила", "Анна", "Галина",
             "Юлия", "Екатерина", "Оксана", "Валентина", "Лариса", "Ксения"]
KK_MALE = ["Нурлан", "Ерлан", "Серик", "Бауыржан", "Асхат", "Дархан", "Азамат", "Ержан", "Болат", "Канат",
           "Мейрамбек", "Алибек", "Талгат", "Жандос", "Марат", "Ғалым", "Нұрсұлтан", "Серік", "Қайрат", "Әлихан",
           "Олжас", "Санжар", "Бекзат", "Айдос"]
KK_FEMALE = ["Айгерим", "Динара", "Гульнара", "Асель", "Жанар", "Сауле", "Мадина", "Аружан", "Айжан", "Салтанат",
             "Жұлдыз", "Әсел", "Гүлназ", "Ақбота", "Назерке", "Дана", "Камила", "Меруерт", "Томирис", "Аяулым"]
# Surname stems; the male form adds -ов/-ев/-ин, the female -ова/-ева/-ина.
RU_SURNAMES = [("Иван", "ов"), ("Петр", "ов"), ("Смирн", "ов"), ("Кузнецов", ""), ("Попов", ""), ("Соколов", ""),
               ("Лебед", "ев"), ("Козл", "ов"), ("Новик", "ов"), ("Морозов", ""), ("Волк", "ов"), ("Зайцев", ""),
               ("Павл", "ов"), ("Семён", "ов"), ("Голуб", "ев"), ("Виноград", "ов"), ("Богданов", ""),
               ("Фёдор", "ов"), ("Михайл", "ов"), ("Беляев", ""), ("Тарас", "ов"), ("Белоус", "ов"),
               ("Ковальчук", "*"), ("Шевченко", "*"), ("Кравец", "*"), ("Вишневский", "*")]
KK_SURNAMES = [("Ахмет", "ов"), ("Жумаба", "ев"), ("Сапар", "ов"), ("Нурлан", "ов"), ("Ермек", "ов"),
               ("Касым", "ов"), ("Абдрахман", "ов"), ("Тулеген", "ов"), ("Сейткали", "*"), ("Ахметжан", "*"),
               ("Нұрғали", "*"), ("Әбдіқадыр", "*"), ("Байжан", "ов"), ("Есенгали", "ев"), ("Мукан", "ов"),
               ("Искак", "ов"), ("Кенжебек", "ов"), ("Омарбек", "ов"), ("Смагул", "ов"), ("Токта", "ров"),
               ("Утепберген", "ов"), ("Калдыба", "ев"), ("Серікбай", "*"), ("Жақсылық", "*")]
RU_FATHERS = ["Иван", "Сергей", "Петр", "Николай", "Александр", "Виктор", "Андрей", "Михаил", "Юрий", "Владимир"]
KK_FATHERS = ["Нурлан", "Серик", "Болат", "Ерлан", "Марат", "Канат", "Талгат", "Асхат", "Жумабек", "Ергали",
              "Серік", "Нұрлан", "Қайрат", "Ғабит", "Төлеген"]


def surname(stem_suffix: tuple[str, str], female: bool) -> str:
    stem, suffix = stem_suffix
    if suffix == "*":
        return stem
    if suffix == "":  # the stem is the male surname already
        return stem + "а" if female else stem
    return stem + suffix + ("а" if female else "")


def patronymic(father: str, female: bool, kazakh_form: bool, rng: random.Random) -> str:
    """Russian -ович/-евич/-овна/-евна, or Kazakh -ұлы/-қызы (also typed -улы/-кызы)."""
    if kazakh_form:
        return father + rng.choice(["қызы", "кызы"] if female else ["ұлы", "улы"])
    if father.endswith("й"):
        return father[:-1] + ("евна" if female else "евич")
    if father.endswith("а"):
        return father[:-1] + ("ична" if female else "ич")
    return father + ("овна" if female else "ович")



# ---------------------------------------------------------------- addresses (Astana street names)

STREETS_RU = ["Абая", "Кенесары", "Сейфуллина", "Бейбитшилик", "Кабанбай батыра", "Мангилик Ел", "Туран",
              "Республики", "Сарыарка", "Жубанова", "Сыганак", "Достык", "Кунаева", "Иманова", "Богенбай батыра",
              "Тауелсиздик", "Улы Дала", "Ауэзова", "Пушкина", "Момышулы", "Желтоксан", "Габдуллина", "Петрова",
              "Букейханова", "Кошкарбаева", "Жирентаева", "Орынбор", "Акмешит", "Бокейхана", "Сатпаева",
              "Амана", "Мустафина", "Шарля де Голля", "Габидена Мустафина", "Брусиловского"]
STREET_TYPES_RU = ["ул.", "улица", "ул", "пр.", "проспект", "пр-т", "ул.", "улица"]
MICRODISTRICTS = ["Самал", "Аль-Фараби", "Жетысу", "Коктал", "Куйгенжар", "Шапагат", "Акбулак", "Юго-Восток",
                  "Целинный", "Тельмана"]
STREETS_KK = ["Абай", "Кенесары", "Сейфуллин", "Бейбітшілік", "Қабанбай батыр", "Мәңгілік Ел", "Тұран",
              "Республика", "Сарыарқа", "Жұбанов", "Сығанақ", "Достық", "Иманов", "Бөгенбай батыр", "Тәуелсіздік",
              "Ұлы Дала", "Әуезов", "Желтоқсан", "Ақмешіт", "Орынбор", "Қошқарбаев", "Сәтбаев", "Керей Жәнібек хандар"]
AVENUES_KK = {"Абай", "Қабанбай батыр", "Мәңгілік Ел", "Тұран", "Республика", "Сарыарқа", "Бөгенбай батыр",
              "Тәуелсіздік", "Ұлы Дала"}

# ---------------------------------------------------------------- vehicle plates (format since 2012)

PLATE_LATIN = "ABCDEFHKLMNOPRSTUVXYZ"
LOOKALIKE = str.maketrans("ABEKMHOPCTXY", "АВЕКМНОРСТХУ")


def plate(rng: random.Random) -> tuple[str, str, str]:
    """(digits, letters, region 01-20) of a current-format plate."""
    letters = "".join(rng.choice(PLATE_LATIN) for _ in range(rng.choice([2, 3, 3])))
    return f"{rng.randrange(1, 1000):03d}", letters, f"{rng.randrange(1, 21):02d}"
