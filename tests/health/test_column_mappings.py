"""``--columns`` and ``health.columns``: every mapping that cannot be meant is refused.

A key given twice (the last would silently win), a column given to two fields, an unknown
or empty field name, an empty column name, and a column the header lacks.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from noderr_deploy.health.columns import (
    FIELDS,
    ColumnError,
    ColumnMap,
    header_index,
    parse_columns,
)

HEADER = ["node_id", "version", "timestamp", "cpu_usage", "memory_usage", "errors"]


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["cpu=x,cpu=y"], "cpu is mapped twice (to 'x' and to 'y')"),
        (["cpu=x,CPU=y"], "cpu is mapped twice (to 'x' and to 'y')"),
        (["nodeId=a", "NODEID=b"], "nodeId is mapped twice (to 'a' and to 'b')"),
        (["cpu=x,cpu=x"], "cpu is mapped twice (to 'x' and to 'x')"),
        (["cpu=load,memory=load"], "cpu and memory are both mapped to column 'load'"),
        (["cpu=load", "memory=LOAD"], "cpu and memory are both mapped to column 'LOAD'"),
        (["load=cpu"], "unknown field 'load'"),
        (["=cpu"], "empty field name"),
        ([" =cpu"], "empty field name"),
        (["cpu="], "cpu: the name must be non-empty"),
        (["cpu=  "], "cpu: the name must be non-empty"),
        (["cpu"], "expected FIELD=COLUMN"),
    ],
)
def test_flag_mappings_that_cannot_be_meant_are_refused(specs: list[str], message: str) -> None:
    with pytest.raises(ColumnError) as caught:
        parse_columns(specs)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"nodeid": "a", "nodeId": "b"}, "nodeId is mapped twice (to 'a' and to 'b')"),
        ({"CPU": "a", "cpu": "a"}, "cpu is mapped twice"),
        ({"cpu": "a", "memory": "A"}, "cpu and memory are both mapped to column 'A'"),
        ({"": "a"}, "empty field name"),
    ],
)
def test_one_mapping_gives_each_field_once(mapping: dict[str, str], message: str) -> None:
    with pytest.raises(ColumnError) as caught:
        ColumnMap.of(mapping)
    assert message in str(caught.value)


def test_a_later_mapping_still_overrides_an_earlier_one_field_by_field() -> None:
    # tiers.yaml then the flag: the flag wins for its fields, and that is no repetition.
    columns = ColumnMap.of({"cpu": "a"}, {"CPU": "b"}, origins=("tiers.yaml", "--columns"))
    assert columns.mapped == {"cpu": "b"}
    assert columns.origin("cpu") == "--columns"


def test_a_column_taken_twice_across_the_file_and_the_flag_names_both_places() -> None:
    with pytest.raises(ColumnError) as caught:
        ColumnMap.of({"cpu": "load"}, {"memory": "load"}, origins=("tiers.yaml", "--columns"))
    assert str(caught.value) == (
        "cpu and memory are both mapped to column 'load' (--columns and tiers.yaml)"
    )


@pytest.mark.parametrize("optional", ["uptime", "healthStatus"])
def test_a_mapped_column_the_header_lacks_is_refused_even_for_an_optional_field(
    optional: str,
) -> None:
    columns = ColumnMap.of({optional: "up"}, origins=("--columns",))
    with pytest.raises(ColumnError) as caught:
        header_index(HEADER, columns)
    assert str(caught.value) == (
        f"CSV header has no column 'up' ({optional}, from --columns); the header: 'node_id',"
        " 'version', 'timestamp', 'cpu_usage', 'memory_usage', 'errors'"
    )


def test_mapped_and_unmapped_missing_columns_are_named_in_one_message() -> None:
    columns = ColumnMap.of({"cpu": "load"}, origins=("health.columns in tiers.yaml",))
    with pytest.raises(ColumnError) as caught:
        header_index(["node_id", "version", "timestamp", "errors"], columns)
    message = str(caught.value)
    assert message.startswith(
        "CSV header has no column 'load' (cpu, from health.columns in tiers.yaml);"
        " CSV header lacks column(s) memory (looked for memory: memory or memory_usage"
    )
    assert message.endswith("the header: 'node_id', 'version', 'timestamp', 'errors'")


def test_a_long_header_is_shown_in_part() -> None:
    header = [*HEADER, *(f"extra{i}" for i in range(40))]
    with pytest.raises(ColumnError) as caught:
        header_index(header, ColumnMap.of({"uptime": "up"}))
    assert str(caught.value).endswith("'extra13' and 26 more")


# -- the --columns parser, over random mappings ----------------------------------------

COLUMN = st.text(
    st.characters(codec="utf-8", exclude_characters=",", exclude_categories=("Cc", "Cs")),
    min_size=1,
    max_size=8,
).filter(lambda s: s.strip() != "")


def spell(data: st.DataObject, name: str) -> str:
    flips = data.draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    padded = "".join(c.upper() if f else c.lower() for c, f in zip(name, flips, strict=True))
    return data.draw(st.sampled_from(["", " "])) + padded + data.draw(st.sampled_from(["", " "]))


@given(st.data())
def test_the_parser_gives_each_field_its_one_column_or_says_why_not(
    data: st.DataObject,
) -> None:
    items = data.draw(st.lists(st.tuples(st.sampled_from(FIELDS), COLUMN), min_size=0, max_size=6))
    texts = [f"{spell(data, field_)}={column}" for field_, column in items]
    # Cut the items into one or more --columns values, with blank items here and there.
    cuts = sorted(data.draw(st.sets(st.integers(0, len(texts)), max_size=3)))
    specs, start = [], 0
    for cut in [*cuts, len(texts)]:
        if texts[start:cut]:  # a value that maps nothing is an error of its own (below)
            specs.append(",".join(texts[start:cut]) + data.draw(st.sampled_from(["", ",", ", "])))
        start = cut
    fields = [field_ for field_, _ in items]
    names = [column.strip().casefold() for _, column in items]
    if len(set(fields)) < len(fields):
        twice = next(f for i, f in enumerate(fields) if f in fields[:i])
        with pytest.raises(ColumnError, match=f"^{twice} is mapped twice"):
            parse_columns(specs)
    elif len(set(names)) < len(names):
        with pytest.raises(ColumnError, match="are both mapped to column"):
            parse_columns(specs)
    else:
        parsed = parse_columns(specs)
        assert parsed == {field_: column.strip() for field_, column in items}
        assert ColumnMap.of(parsed).mapped == parsed  # what the flag accepts, the map does


@pytest.mark.parametrize("blank", ["", ",", " , ", "\t"])
def test_a_value_that_maps_nothing_is_refused(blank: str) -> None:
    with pytest.raises(ColumnError, match="maps no field"):
        parse_columns(["cpu=a", blank])
