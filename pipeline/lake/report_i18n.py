"""Dashboard labels in Russian, Kazakh and English (`anonpipe report --lang`)."""

from __future__ import annotations

LANGUAGES = ("ru", "kk", "en")

_KEYS = {
    #  key: (ru, kk, en)
    "title": ("Статистика обращений и использования приложения", "Өтініштер мен қолданба статистикасы",
              "Appeals and app usage statistics"),
    "subtitle": ("Только обезличенные данные: каждое число охватывает не менее k = {k} человек. Время местное ({tz}).",
                 "Тек иесіздендірілген деректер: әр сан кемінде k = {k} адамды қамтиды. Уақыт жергілікті ({tz}).",
                 "De-identified data only: every number covers at least k = {k} people. Times are local ({tz})."),
    "subtitle_dp": ("Только дифференциально приватные данные: числа с шумом, ± показан ниже. Время местное ({tz}).",
                    "Тек дифференциалды жеке деректер: сандар шуылмен, ± төменде. Уақыт жергілікті ({tz}).",
                    "Differentially private data only: the numbers are noisy, their ± is shown below. Times are "
                    "local ({tz})."),
    "from": ("С", "Бастап", "From"),
    "to": ("По", "Дейін", "To"),
    "event_type": ("Тип события", "Оқиға түрі", "Event type"),
    "service": ("Услуга", "Қызмет", "Service"),
    "screen": ("Экран", "Экран", "Screen"),
    "district": ("Район", "Аудан", "District"),
    "os_family": ("ОС", "ОЖ", "OS"),
    "device_class": ("Тип устройства", "Құрылғы түрі", "Device class"),
    "day": ("День", "Күн", "Day"),
    "hour": ("Час", "Сағат", "Hour"),
    "weekday": ("День недели", "Апта күні", "Weekday"),
    "events": ("События", "Оқиғалар", "Events"),
    "people": ("Люди", "Адамдар", "People"),
    "change": ("Изменение, %", "Өзгеріс, %", "Change, %"),
    "all": ("Все", "Барлығы", "All"),
    "reset": ("Сбросить", "Тазарту", "Reset"),
    "download": ("Скачать CSV", "CSV жүктеу", "Download CSV"),
    "kpi_events": ("Событий за период", "Кезеңдегі оқиғалар", "Events in the period"),
    "kpi_change": ("к предыдущим {n} дн.", "алдыңғы {n} күнге", "vs the previous {n} days"),
    "kpi_no_previous": ("нет данных за предыдущий период", "алдыңғы кезеңде дерек жоқ", "no data for the previous period"),
    "kpi_people": ("Человек в день (последний день)", "Күніне адам (соңғы күн)", "People per day (last day)"),
    "kpi_people_avg": ("В среднем в день", "Күніне орташа", "Average per day"),
    "per_day": ("События по дням", "Күндер бойынша оқиғалар", "Events per day"),
    "people_per_day": ("Разные люди за день", "Күніне әртүрлі адамдар", "Distinct people per day"),
    "people_note": ("Каждый человек считается один раз за день, сколько бы событий у него ни было. Дни, где число "
                    "не опубликовано (меньше k человек или его можно было бы вычесть из других чисел), пусты.",
                    "Әр адам күніне бір рет саналады. Сан жарияланбаған күндер (k адамнан аз немесе басқа "
                    "сандардан шегеруге болады) бос.",
                    "Each person counts once per day, however many events they had. Days whose number is not "
                    "published (under k people, or it could be subtracted from other numbers) are empty."),
    "service_per_day": ("События по дням и услугам", "Күндер мен қызметтер бойынша оқиғалар",
                        "Events per day by service"),
    "event_types": ("Типы событий", "Оқиға түрлері", "Event types"),
    "services": ("Услуги", "Қызметтер", "Services"),
    "screens": ("Экраны", "Экрандар", "Screens"),
    "districts": ("Районы", "Аудандар", "Districts"),
    "district_service": ("Районы и услуги", "Аудандар мен қызметтер", "Districts and services"),
    "people_district_service": ("Люди по районам и услугам (последний день периода)",
                                "Аудандар мен қызметтер бойынша адамдар (кезеңнің соңғы күні)",
                                "People by district and service (last day of the period)"),
    "people_district_note": ("Сколько разных людей за день обращались к услуге в районе. Люди не складываются по "
                             "дням, поэтому показан один день; «–»: число не опубликовано.",
                             "Бір күнде аудандағы қызметке жүгінген әртүрлі адамдар саны. Адамдар күндер бойынша "
                             "қосылмайды, сондықтан бір күн көрсетілген; «–»: сан жарияланбаған.",
                             "How many different people used a service in a district that day. People do not add up "
                             "across days, so one day is shown; '–': the number is not published."),
    "no_districts": ("Районы не заданы в политике (districts: GeoJSON).", "Аудандар саясатта берілмеген.",
                     "No districts in the policy (districts: GeoJSON)."),
    "os": ("Операционные системы", "Операциялық жүйелер", "Operating systems"),
    "devices": ("Типы устройств", "Құрылғы түрлері", "Device classes"),
    "heatmap": ("Активность по часам и дням недели", "Сағат пен апта күні бойынша белсенділік",
                "Activity by hour of day and weekday"),
    "suppressed": ("Скрыто {pct} событий (группы меньше k человек), опоздавших событий: {late}.",
                   "{pct} оқиға жасырылды (k адамнан аз топтар), кешіккен оқиғалар: {late}.",
                   "{pct} of events hidden (groups under k people); late events: {late}."),
    "no_data": ("Нет опубликованных данных для этого фильтра", "Бұл сүзгі үшін жарияланған дерек жоқ",
                "No published data for this filter"),
    "generalized": ("обобщено (*)", "жалпыланған (*)", "generalized (*)"),
    "unknown": ("не указано", "көрсетілмеген", "not given"),
    "other": ("другое", "басқа", "other"),
    "weekdays": ("Пн,Вт,Ср,Чт,Пт,Сб,Вс", "Дс,Сс,Ср,Бс,Жм,Сб,Жс", "Mon,Tue,Wed,Thu,Fri,Sat,Sun"),
    "dp_title": ("Дифференциально приватные числа (с шумом)", "Дифференциалды жеке сандар (шуылмен)",
                 "Differentially private numbers (noisy)"),
    "dp_intro": ("Эти числа дифференциально приватны: к каждому добавлен случайный шум, поэтому они неточны и "
                 "могут быть даже отрицательными. «±N» рядом с числом: с вероятностью 95 % истинное значение "
                 "отличается не больше чем на N. Шум защищает каждого человека, даже от поддельных устройств.",
                 "Бұл сандар дифференциалды жеке: әрқайсысына кездейсоқ шуыл қосылған, сондықтан олар дәл емес "
                 "және тіпті теріс болуы мүмкін. Санның жанындағы «±N»: 95 % ықтималдықпен нақты мән N-нен "
                 "артық ауытқымайды. Шуыл әр адамды, тіпті жалған құрылғылардан да қорғайды.",
                 "These numbers are differentially private: random noise was added to each, so they are not exact "
                 "and can even be negative. '±N' next to a number: with 95 % probability the true value is within "
                 "N of it. The noise protects every person, even against fake devices."),
    "dp_charts_dp": ("Графики ниже построены из этих же зашумлённых чисел.",
                     "Төмендегі графиктер осы шуылды сандардан құрылған.",
                     "The charts below are built from these same noisy numbers."),
    "dp_charts_mixed": ("Графики ниже показывают только точные k-анонимные числа; зашумлённые в них не входят.",
                        "Төмендегі графиктер тек дәл k-анонимді сандарды көрсетеді; шуылдылар оларға кірмейді.",
                        "The charts below show only the exact k-anonymous numbers; the noisy ones are not added in."),
    "dp_people_note": ("Люди суммируются по часам и ячейкам: человек считается один раз в каждом часе и ячейке.",
                       "Адамдар сағаттар мен ұяшықтар бойынша қосылады: адам әр сағат пен ұяшықта бір рет саналады.",
                       "People are summed over hours and cells: a person counts once in each hour and cell."),
    "dp_cells": ("Ячеек", "Ұяшықтар", "Cells"),
    "dp_budget": ("Бюджет приватности (ε)", "Құпиялылық бюджеті (ε)", "Privacy budget (ε)"),
    "dp_period": ("Период", "Кезең", "Period"),
    "dp_spent": ("Потрачено ε", "Жұмсалған ε", "ε spent"),
    "dp_released": ("Выпусков", "Шығарылымдар", "Releases"),
    "dp_refused": ("Отказов", "Бас тартулар", "Refused"),
    "dp_reason": ("Причина", "Себебі", "Reason"),
    "dp_budget_spent": ("за этот период больше ничего не публикуется, потому что бюджет исчерпан",
                        "бұл кезеңде бұдан артық ештеңе жарияланбайды, себебі бюджет таусылды",
                        "nothing more is published for this period because the budget is spent"),
    "dp_no_ledger": ("Журнал бюджета (lake/dp_ledger) не найден.", "Бюджет журналы (lake/dp_ledger) табылмады.",
                     "No budget ledger (lake/dp_ledger) found."),
    "dp_compare": ("Сравнение точности k-анонимности и DP при разных ε: python -m pipeline.dp.compare --out "
                   "dp-compare.md (пишет также dp-compare.html; см. docs/dp.md).",
                   "k-анонимдік пен DP дәлдігін әртүрлі ε-да салыстыру: python -m pipeline.dp.compare --out "
                   "dp-compare.md (dp-compare.html да жазылады; docs/dp.md қараңыз).",
                   "How accurate k-anonymity and DP are at several ε: python -m pipeline.dp.compare --out "
                   "dp-compare.md (also writes dp-compare.html; see docs/dp.md)."),
    "footer": ("Создано {when} командой anonpipe report из зон aggregates, window_stats, people.",
               "{when} anonpipe report арқылы aggregates, window_stats, people аймақтарынан жасалды.",
               "Generated {when} by anonpipe report from the aggregates, window_stats and people zones."),
}


def labels(lang: str) -> dict[str, str]:
    """All labels in one language."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    index = LANGUAGES.index(lang)
    return {key: values[index] for key, values in _KEYS.items()}
