"""Varied, realistic appeal and search texts for the synthetic telemetry, some carrying the writer's personal data."""

from __future__ import annotations

import random

# What people search for in a city-services app (short, lower case, often without punctuation).
SEARCH_TOPICS = ["не работает освещение", "вывоз мусора", "ямы на дороге", "отопление в подъезде", "жарық жоқ",
                 "қоқыс шығару", "график автобусов", "приём акимата", "горячая вода", "лифт не работает",
                 "снег не убран", "детская площадка", "бродячие собаки", "парковка во дворе", "шум ночью",
                 "протечка крыши", "светофор", "аялдама", "ыстық су", "справка о составе семьи", "запись в ЦОН"]
DISTRICTS = ["Сарыарка", "Алматы", "Есиль", "Байконур", "Нура"]
STREETS = ["Абая", "Кенесары", "Сейфуллина", "Кабанбай батыра", "Мангилик Ел", "Туран", "Республики", "Сарыарка",
           "Жубанова", "Сыганак", "Достык", "Кунаева", "Иманова", "Богенбай батыра", "Тауелсиздик", "Ауэзова",
           "Момышулы", "Желтоксан", "Бейбитшилик", "Петрова", "Акмешит", "Орынбор"]
STREETS_KK = ["Абай даңғылы", "Кенесары көшесі", "Тұран даңғылы", "Сарыарқа даңғылы", "Сығанақ көшесі",
              "Бейбітшілік көшесі", "Достық көшесі", "Қабанбай батыр даңғылы"]
PROBLEMS = ["не работает лифт", "нет горячей воды", "течёт крыша", "не вывозят мусор", "не горят фонари во дворе",
            "в подъезде холодно", "яма на дороге у въезда", "сломаны качели на площадке", "затопило подвал",
            "шумят соседи по ночам", "не убирают снег", "машины паркуются на газоне", "нет отопления",
            "пахнет газом в подъезде", "сломан домофон", "не работает светофор", "бродячие собаки во дворе"]
PROBLEMS_KK = ["лифт істемейді", "ыстық су жоқ", "шатыр ағып тұр", "қоқыс шығарылмайды", "аулада жарық жоқ",
               "подъезд суық", "жолда шұңқыр бар", "жылу жоқ"]
DURATIONS = ["{few} дня", "уже {many} дней", "неделю", "с понедельника", "с {d} числа", "уже месяц", "второй день"]
ASKS = ["Прошу принять меры.", "Прошу разобраться.", "Когда исправят?", "Жду ответа.", "Сколько можно ждать?",
        "Прошу направить мастера.", "Спасибо.", ""]
FIRST_NAMES = ["Айгерим", "Нурлан", "Ерлан", "Динара", "Сергей", "Ольга", "Асель", "Марат", "Жанар", "Дмитрий",
               "Гульнара", "Бауыржан", "Елена", "Серік", "Әсел", "Тимур"]
SURNAMES = ["Ахметов", "Жумабаев", "Иванов", "Сапаров", "Касымов", "Петров", "Нурланов", "Ермеков", "Смирнов",
            "Тулегенов"]
MOBILE_CODES = ["700", "701", "702", "705", "707", "747", "771", "775", "776", "777", "778"]


def _iin(rng: random.Random) -> str:
    """A 12-digit IIN with a correct control digit (born 1960-1999)."""
    while True:
        head = f"{rng.randrange(60, 100)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}" \
               f"{rng.choice('34')}{rng.randrange(10**4):04d}"
        digits = [int(c) for c in head]
        control = sum(d * w for d, w in zip(digits, range(1, 12))) % 11
        if control == 10:
            control = sum(d * w for d, w in zip(digits, [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2])) % 11
        if control != 10:
            return head + str(control)


class AppealTexts:
    """Texts drawn from a shared random generator (the telemetry generator's, so a seed fixes them)."""

    def __init__(self, rng: random.Random, pii_share: float = 0.3):
        self.rng = rng
        self.pii_share = pii_share

    def search(self) -> str:
        rng = self.rng
        topic = rng.choice(SEARCH_TOPICS)
        return rng.choice([topic, f"{topic} {rng.choice(DISTRICTS)}", f"{topic} {rng.choice(STREETS)}",
                           f"{topic} {rng.randrange(1, 200)}", f"автобус {rng.randrange(1, 90)}"])

    def appeal(self) -> str:
        rng = self.rng
        if rng.random() < 0.2:
            text = f"{rng.choice(STREETS_KK)} бойынша {rng.choice(PROBLEMS_KK)}. {rng.choice(['Көмектесіңіз.', 'Рахмет.', ''])}"
        else:
            where = rng.choice([f"на улице {rng.choice(STREETS)}", f"в доме {rng.randrange(1, 150)}",
                                f"в районе {rng.choice(DISTRICTS)}", "во дворе", f"в подъезде {rng.randrange(1, 10)}"])
            since = rng.choice(DURATIONS).format(few=rng.randrange(2, 5), many=rng.randrange(5, 21), d=rng.randrange(1, 29))
            text = f"{rng.choice(['', 'Здравствуйте! ', 'Добрый день. '])}{where[0].upper()}{where[1:]} {rng.choice(PROBLEMS)} " \
                   f"{since}. {rng.choice(ASKS)}"
            if rng.random() < 0.3:
                text += f" Заявка № {rng.randrange(10**5, 10**9)} не исполнена."
        if rng.random() < self.pii_share:
            text += " " + self._personal()
        return " ".join(text.split())

    def _personal(self) -> str:
        """One or two pieces of the writer's own data, in the forms people type them."""
        rng = self.rng
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
        n = f"{rng.randrange(10**6, 10**7)}"
        phone = rng.choice([f"+7 {rng.choice(MOBILE_CODES)} {n[:3]} {n[3:5]} {n[5:]}", f"8{rng.choice(MOBILE_CODES)}{n}",
                            f"8 ({rng.choice(MOBILE_CODES)}) {n[:3]}-{n[3:5]}-{n[5:]}"])
        iin = _iin(rng)
        pieces = [f"Меня зовут {name}.", f"Тел. {phone}", f"ИИН {rng.choice([iin, iin[:6] + ' ' + iin[6:]])}",
                  f"Адрес: ул. {rng.choice(STREETS)}, д. {rng.randrange(1, 120)}, кв. {rng.randrange(1, 250)}.",
                  f"С уважением, {name}, {phone}", f"Менің нөмірім {phone}"]
        return " ".join(rng.sample(pieces, rng.choice([1, 1, 2])))
