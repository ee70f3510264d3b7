"""Names from their shape: patronymics, initials, known first names, names after "Меня зовут"; streets stay."""

import pytest

from .conftest import spans


@pytest.mark.parametrize(
    "text, name",
    [
        ("Сосед Иванов Иван Иванович шумит", "Иванов Иван Иванович"),     # surname, name, patronymic
        ("Прошу связаться с Иваном Петровичем", "Иваном Петровичем"),    # inflected name + patronymic
        ("Ответ подписал Ахметов Нурлан Серикулы", "Ахметов Нурлан Серикулы"),  # Kazakh -улы
        ("Мастер Айгерим Нұрланқызы не пришла", "Айгерим Нұрланқызы"),   # Kazakh -қызы, Kazakh letters
        ("Председатель КСК Петров И. И.", "Петров И. И."),                # surname + initials
        ("Заявление рассмотрел И.И. Иванов", "И.И. Иванов"),             # initials first, no space
        ("Инспектор А. Жумабаев", "А. Жумабаев"),                       # one initial + surname shape
        ("Мастер Айгерим Сапарова", "Айгерим Сапарова"),                 # known first name + surname shape
        ("сосед Нурлан Ахметжан", "Нурлан Ахметжан"),                    # surname without a suffix
        ("Меня зовут Айгерим", "Айгерим"),                              # after "Меня зовут"
        ("Менің атым Нұрлан", "Нұрлан"),                                # Kazakh "Менің атым"
        ("Заявитель: Сейткали Қайрат", "Сейткали Қайрат"),              # after "Заявитель:"
        ("меня зовут сейткали дана", "сейткали дана"),                   # all lower case after a trigger
        ("С уважением, Ольга", "Ольга"),                                # signature
    ],
)
def test_names_found(engine, text, name):
    assert ("PERSON", name) in spans(engine, text)


@pytest.mark.parametrize(
    "text",
    [
        "На улице Абая нет света",                 # street named after a person
        "Нет света на улице Мухтара Ауэзова",      # a full name after a street keyword is the street's
        "Пробка на проспекте Кабанбай батыра",     # avenue
        "Кенесары көшесінде жарық жоқ",             # Kazakh street keyword after the name
        "Акимат района Сарыарка не отвечает",      # organization and district
        "Школа-лицей Дарын № 5",                   # a known name before "№": a school, no surname
        "Меня зовут к телефону",                   # a stop word after the trigger
        "КСК Жилстрой не отвечает",                # acronym + organization
        "Роман читал в парке",                     # a first name opening the sentence, alone
    ],
)
def test_non_names_stay(engine, text):
    assert [s for s in spans(engine, text) if s[0] == "PERSON"] == []
