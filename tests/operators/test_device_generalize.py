"""`device_generalize`: known brand kept, model → class, screen → bucket, OS → family + major, locale → language."""

import pyarrow as pa
import pytest
from operators_support import run

DEVICE = pa.struct([(name, pa.string()) for name in
                    ("manufacturer", "model", "os", "os_version", "screen", "locale", "network")])
OUTPUTS = ("device_manufacturer", "device_class", "os_family", "os_major", "screen_bucket", "locale_language",
           "network")


@pytest.mark.parametrize("device, expected", [
    ({"manufacturer": "Samsung", "model": "SM-A536B", "os": "Android", "os_version": "13.0", "screen": "1080x2400",
      "locale": "ru-KZ", "network": "wifi"},
     ("samsung", "phone", "Android", "13", "1080-1439", "ru", "wifi")),                # common phone
    ({"manufacturer": " APPLE ", "model": "iPad13,18", "os": "ipados", "os_version": "17.1", "screen": "1640x2360",
      "locale": "kk_KZ"}, ("apple", "tablet", "iOS", "17", ">=1440", "kk", None)),  # tablet
    ({"manufacturer": "Obscure Labs", "model": "X1", "os": "KaiOS", "os_version": "beta", "screen": "240x320"},
     ("other", "phone", "Other", None, "<720", None, None)),                           # rare brand / OS
    ({"manufacturer": "", "os": "", "screen": "bad"}, (None,) * 7),                     # empty → nothing
    ({"screen": "800x600"}, (None, None, None, None, "<720", None, None)),  # short side 600
])
def test_generalized(device, expected):
    result = run("device_generalize", [device], arrow_type=DEVICE)
    assert tuple(result.columns[name].to_pylist()[0] for name in OUTPUTS) == expected


def test_absent_device_and_custom_brands():
    result = run("device_generalize", [None], arrow_type=DEVICE)
    assert all(result.columns[name].to_pylist() == [None] for name in OUTPUTS)
    custom = run("device_generalize", [{"manufacturer": "Samsung"}, {"manufacturer": "Nokia"}], arrow_type=DEVICE,
                 params={"manufacturers": ["nokia"]})
    assert custom.columns["device_manufacturer"].to_pylist() == ["other", "nokia"]
