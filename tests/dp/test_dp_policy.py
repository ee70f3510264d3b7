"""The policy's DP parameters are checked when it loads: one clear error per mistake."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pipeline.policy.model import DomainColumn, DPSection, Hierarchy, KAnonSection


def section(**dp) -> KAnonSection:
    return KAnonSection(quasi_identifiers={"geo_h3": Hierarchy(kind="h3", resolutions=[7, 6]), "os_family": Hierarchy()},
                        rollup_order=["geo_h3"], release="dp", dp=DPSection(**dp))


@pytest.mark.parametrize("dp, message", [
    # a domain column that is not in the cell
    ({"domain": {"city": DomainColumn(values=["Astana"])}}, "neither the partition column"),
    # an h3 resolution the hierarchy does not have
    ({"domain": {"geo_h3": DomainColumn(values=["x"], h3_resolution=5)}}, "h3_resolution"),
    # an h3 resolution on a star column
    ({"domain": {"os_family": DomainColumn(values=["iOS"], h3_resolution=7)}}, "h3_resolution"),
    # shares that leave nothing for the count of bounded people
    ({"events_share": 0.5, "users_share": 0.5}, "leave a share"),
    # a period that cannot pay for one window
    ({"epsilon_per_window": 2.0, "epsilon_per_period": 1.0}, "smaller than one window"),
    # a domain too big to noise every window
    ({"domain": {"event_type": DomainColumn(values=[str(i) for i in range(400)]),
                 "os_family": DomainColumn(values=[str(i) for i in range(400)])}}, "at most 100,000"),
])
def test_bad_dp_parameters_are_refused(dp, message):
    with pytest.raises(ValidationError, match=message):
        section(**dp)


def test_default_domain_adapts_to_the_cell_and_explicit_one_is_kept():
    assert section().release == "dp"  # default domain names device_class, absent here: ignored
    explicit = section(domain={"geo_h3": DomainColumn(values=["86"], h3_resolution=6)})
    assert explicit.dp.domain["geo_h3"].h3_resolution == 6
    with pytest.raises(ValidationError):
        KAnonSection(release="laplace")
