"""`user_agent`: only browser family/major, OS family/major and device class leave; the raw UA never does."""

import pytest
from operators_support import run

CHROME_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0.0.0 Safari/537.36")
ANDROID_PHONE = ("Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/119.0.6045.163 Mobile Safari/537.36")
IPAD = ("Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.1 Mobile/15E148 Safari/604.1")
BOT = "Googlebot/2.1 (+http://www.google.com/bot.html)"
OUTPUTS = ("browser_family", "browser_major", "ua_os_family", "ua_os_major", "ua_device_class")


@pytest.mark.parametrize("ua, expected", [
    (CHROME_WIN, ("Chrome", "120", "Windows", "10", "desktop")),          # desktop browser
    (ANDROID_PHONE, ("Chrome Mobile", "119", "Android", "13", "mobile")),  # phone
    (IPAD, ("Mobile Safari", "17", "iOS", "17", "tablet")),                # tablet
    (BOT, ("Googlebot", "2", "Other", None, "bot")),                       # crawler
])
def test_parsed_fields(ua, expected):
    result = run("user_agent", [ua, None, ua])
    rows = list(zip(*(result.columns[name].to_pylist() for name in OUTPUTS)))
    assert rows[0] == expected and rows[2] == expected
    assert rows[1] == (None,) * 5
    assert all(ua not in (value or "") for value in rows[0])


def test_outputs_declared():
    from pipeline.operators.user_agent import UserAgent
    assert tuple(f.name for f in UserAgent("user_agent", UserAgent.Params(), None).output_schema()) == OUTPUTS
