"""The fictional world of the demo: its contract, insured people, doctors (with education and career
start) and staff."""

from __future__ import annotations

from datetime import date

from telemed.auth.roles import Role

SLOT_MINUTES = 30  # every demo doctor's slot length
AROUND_THE_CLOCK = {"therapist", "pediatrician"}  # their weekly hours: every day 00:00-24:00, others 9-18

#: The demo contract's programme (its term runs from January 1st of this year to the end of the next).
CONTRACT = {
    "number": "ДМС-2026-0001",
    "client": "ООО «Ромашка»",
    "telemedicine": True,
    "urgent": True,
    "psychologist_limit": 3,
}

# The insured list, as the employer would send it (``admin.insured_import`` columns), plus what the
# list does not hold: the sex, and the demo account (password ``demo``) the person logs in with.
# (policy number, full name, birth date, sex, relation, main policy number, e-mail, demo username)
INSURED = [
    (
        "П-0001-000001",
        "Иванова Анна Сергеевна",
        date(1988, 3, 14),
        "female",
        "self",
        "",
        "member@example.org",  # booking e-mails, reminders (TELEMED_SMTP_URL)
        "member",
    ),
    (
        "П-0001-000002",
        "Иванов Михаил Андреевич",
        date(2017, 9, 2),
        "male",
        "child",
        "П-0001-000001",
        "",
        None,
    ),
    ("П-0001-000003", "Петров Олег Николаевич", date(1979, 11, 30), "male", "self", "", "", "member2"),
]

# (specialty, full name, career start year, education, degree, demo username or None)
DOCTORS = [
    (
        "therapist",
        "Соколова Марина Викторовна",
        2003,
        "Первый МГМУ им. И. М. Сеченова, лечебное дело; ординатура по терапии",
        "кандидат медицинских наук",
        "doctor",
    ),
    (
        "therapist",
        "Лебедев Артём Игоревич",
        2016,
        "РНИМУ им. Н. И. Пирогова, лечебное дело; ординатура по терапии",
        None,
        "doctor2",  # a second therapist with an account: two doctors compete for urgent requests
    ),
    (
        "pediatrician",
        "Кузнецова Ольга Петровна",
        2000,
        "РНИМУ им. Н. И. Пирогова, педиатрия; ординатура по педиатрии",
        "кандидат медицинских наук",
        "pediatrician",
    ),
    (
        "pediatrician",
        "Морозов Денис Алексеевич",
        2014,
        "СПбГПМУ, педиатрия; ординатура по педиатрии",
        None,
        None,
    ),
    (
        "neurologist",
        "Волкова Ирина Николаевна",
        2005,
        "МГМСУ им. А. И. Евдокимова; ординатура по неврологии",
        None,
        None,
    ),
    ("neurologist", "Зайцев Павел Сергеевич", 2012, "Казанский ГМУ; ординатура по неврологии", None, None),
    (
        "cardiologist",
        "Новиков Сергей Борисович",
        1998,
        "Первый МГМУ им. И. М. Сеченова; ординатура по кардиологии",
        "доктор медицинских наук",
        None,
    ),
    (
        "cardiologist",
        "Павлова Екатерина Андреевна",
        2013,
        "РНИМУ им. Н. И. Пирогова; ординатура по кардиологии",
        None,
        None,
    ),
    (
        "endocrinologist",
        "Фёдорова Наталья Юрьевна",
        2006,
        "НМИЦ эндокринологии; ординатура по эндокринологии",
        "кандидат медицинских наук",
        None,
    ),
    (
        "endocrinologist",
        "Григорьев Илья Олегович",
        2017,
        "Самарский ГМУ; ординатура по эндокринологии",
        None,
        None,
    ),
    (
        "urologist",
        "Смирнов Алексей Владимирович",
        2004,
        "МГМСУ им. А. И. Евдокимова; ординатура по урологии",
        None,
        None,
    ),
    (
        "urologist",
        "Тихонов Роман Евгеньевич",
        2015,
        "ПСПбГМУ им. И. П. Павлова; ординатура по урологии",
        None,
        None,
    ),
    (
        "gynecologist",
        "Белова Анна Михайловна",
        2002,
        "Первый МГМУ им. И. М. Сеченова; ординатура по акушерству и гинекологии",
        "кандидат медицинских наук",
        None,
    ),
    (
        "gynecologist",
        "Орлова Дарья Сергеевна",
        2016,
        "РНИМУ им. Н. И. Пирогова; ординатура по акушерству и гинекологии",
        None,
        None,
    ),
    (
        "ent",
        "Егоров Максим Павлович",
        2007,
        "РНИМУ им. Н. И. Пирогова; ординатура по оториноларингологии",
        None,
        None,
    ),
    (
        "ent",
        "Киселёва Юлия Андреевна",
        2018,
        "Ярославский ГМУ; ординатура по оториноларингологии",
        None,
        None,
    ),
    (
        "allergist",
        "Макарова Елена Викторовна",
        2008,
        "ГНЦ Институт иммунологии; ординатура по аллергологии и иммунологии",
        None,
        None,
    ),
    (
        "allergist",
        "Андреев Кирилл Дмитриевич",
        2019,
        "Первый МГМУ им. И. М. Сеченова; ординатура по аллергологии",
        None,
        None,
    ),
    (
        "gastroenterologist",
        "Николаев Виктор Петрович",
        1999,
        "МГМСУ им. А. И. Евдокимова; ординатура по гастроэнтерологии",
        "кандидат медицинских наук",
        None,
    ),
    (
        "gastroenterologist",
        "Алексеева Мария Игоревна",
        2015,
        "РНИМУ им. Н. И. Пирогова; ординатура по гастроэнтерологии",
        None,
        None,
    ),
    (
        "dermatologist",
        "Степанова Ксения Олеговна",
        2009,
        "ЦНИКВИ; ординатура по дерматовенерологии",
        None,
        None,
    ),
    (
        "dermatologist",
        "Ковалёв Глеб Николаевич",
        2020,
        "Первый МГМУ им. И. М. Сеченова; ординатура по дерматовенерологии",
        None,
        None,
    ),
    (
        "orthopedist",
        "Романов Андрей Сергеевич",
        2001,
        "ЦИТО им. Н. Н. Приорова; ординатура по травматологии и ортопедии",
        "кандидат медицинских наук",
        None,
    ),
    (
        "orthopedist",
        "Васильев Никита Юрьевич",
        2014,
        "ПСПбГМУ им. И. П. Павлова; ординатура по травматологии и ортопедии",
        None,
        None,
    ),
    (
        "psychologist",
        "Медведева Алина Романовна",
        2010,
        "МГУ им. М. В. Ломоносова, факультет психологии; клиническая психология",
        "кандидат психологических наук",
        "psychologist",
    ),
    ("psychologist", "Жуков Степан Ильич", 2018, "МГППУ, клиническая психология", None, None),
]

STAFF = [
    ("records", Role.RECORDS, "Ершова Галина Фёдоровна"),
    ("admin", Role.ADMIN, "Администратор Клиники"),
    ("curator", Role.CURATOR, "Куратор Ольга Викторовна"),
]
