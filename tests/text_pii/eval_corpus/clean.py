"""Clean city-service texts for the corpus: numbers that must stay (appeals, dates, routes, temperatures, counts)."""

from __future__ import annotations

import random

CLEAN_TEMPLATES_RU = [
    "Заявка № {appeal} от {date} до сих пор не исполнена.",
    "Автобус {route} не ходит по расписанию, ждали {minutes} минут на остановке.",
    "На улице {street} нет света уже {days} дня.",
    "В доме {house} не работает лифт, подъезд {entrance}.",
    "Температура в квартире {temp} градусов, батареи холодные.",
    "На улице {temp_out}°C, а отопление до сих пор не включили.",
    "Яма на дороге размером {size} на {size} метра, возле остановки.",
    "Прошу установить {count} скамейки во дворе.",
    "Маршрут {route} изменили с {date}, никто не предупредил.",
    "Обращение {appeal} закрыто без ответа.",
    "Оплатил {amount} тенге за вывоз мусора, услуги не было.",
    "Позвонил в 109, сказали ждать {days} дней.",
    "Горячей воды нет с {time} до {time2}.",
    "Ответ на заявку № {appeal} не получен, прошло {days} дней.",
    "Детская площадка во дворе дома {house} разрушена.",
    "Светофор на перекрёстке {street} и {street2} не работает с {date}.",
    "В {year} году обещали отремонтировать крышу, до сих пор течёт.",
    "Номер обращения {appeal}, прошу ускорить.",
    "Мусор не вывозили {days} дней, контейнеров {count}.",
    "На проспекте {street} перекрыли {count} полосы без предупреждения.",
    "Горячая линия 8 800 080 7777 не отвечает.",
    "Снег не убирают, сугробы выше {size} метров.",
    "Заказ {appeal} на замену счётчика не выполнен, звонил {count} раза.",
    "Автобусы {route} и {route2} идут переполненные, интервал {minutes} минут.",
    "Скорость на участке {size}0 км/ч, водители превышают.",
    "Тариф вырос на {percent}% с {date}.",
    "Площадь квартиры {area} м², а начислили за большую.",
    "Улица {street} в ужасном состоянии, ямы по всей длине.",
    "Приём в акимате с 9:00 до 18:00, но никого нет.",
    "В школе № {house} холодно, {temp} градусов в классах.",
    "Справка {appeal} готова? Подавал {date}.",
    "Трамвайные пути на {street} не убраны.",
    "Собака без поводка в сквере, {count} раза видели.",
    "Версия приложения {version} зависает при подаче заявки.",
]
CLEAN_TEMPLATES_KK = [
    "№ {appeal} өтінім {date} бастап орындалмады.",
    "{route} автобусы кестемен жүрмейді, аялдамада {minutes} минут күттік.",
    "{street_kk} көшесінде {days} күн бойы жарық жоқ.",
    "{house} үйде лифт істемейді.",
    "Пәтерде {temp} градус, батареялар суық.",
    "Қоқыс {days} күн бойы шығарылмады.",
    "Өтінім нөмірі {appeal}, тездетуді сұраймын.",
    "{year} жылы шатырды жөндейміз деді.",
]
CLEAN_STREETS = ["Абая", "Кенесары", "Туран", "Сарыарка", "Достык", "Мангилик Ел", "Кабанбай батыра", "Республики",
                 "Мухтара Ауэзова", "Габидена Мустафина", "Кенесары Касымова", "Александра Пушкина"]
CLEAN_STREETS_KK = ["Абай", "Кенесары", "Тұран", "Сарыарқа", "Достық"]


def clean(rng: random.Random) -> dict:
    kazakh = rng.random() < 0.25
    template = rng.choice(CLEAN_TEMPLATES_KK if kazakh else CLEAN_TEMPLATES_RU)
    day = f"{rng.randrange(1, 29):02d}.{rng.randrange(1, 13):02d}.{rng.choice([2024, 2025, 2026])}"
    values = {
        "appeal": str(rng.randrange(10**5, 10**9)) if rng.random() < 0.7 else f"ЖТ-{rng.randrange(10**6)}",
        "date": rng.choice([day, f"{rng.randrange(1, 29)} марта", day[:5]]),
        "route": str(rng.randrange(1, 100)), "route2": str(rng.randrange(1, 100)),
        "minutes": str(rng.randrange(10, 90)), "days": str(rng.randrange(2, 30)),
        "street": rng.choice(CLEAN_STREETS), "street2": rng.choice(CLEAN_STREETS),
        "street_kk": rng.choice(CLEAN_STREETS_KK), "house": str(rng.randrange(1, 200)),
        "entrance": str(rng.randrange(1, 12)), "temp": str(rng.randrange(8, 17)),
        "temp_out": f"-{rng.randrange(5, 40)}", "size": str(rng.randrange(1, 5)), "count": str(rng.randrange(2, 9)),
        "amount": f"{rng.randrange(1, 50)} {rng.randrange(1000):03d}", "time": f"{rng.randrange(6, 12)}:00",
        "time2": f"{rng.randrange(13, 23)}:30", "year": str(rng.randrange(2015, 2026)),
        "percent": str(rng.randrange(5, 40)), "area": str(rng.randrange(30, 120)),
        "version": f"{rng.randrange(1, 4)}.{rng.randrange(10)}.{rng.randrange(10)}",
    }
    return {"form": "clean", "language": "kk" if kazakh else "ru", "text": template.format(**values), "entities": []}
