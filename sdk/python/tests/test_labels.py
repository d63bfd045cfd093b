from campanile_sdk import Labels


def test_the_layout_is_the_contracts() -> None:
    labels = Labels({"team": "db", "alertname": "Down"})
    assert labels.text == "alertnameDownteamdb"
    assert labels.ends == [9, 13, 17, 19]


def test_a_packed_set_reads_like_a_dict() -> None:
    labels = Labels.packed("alertnameDownteamdb", [9, 13, 17, 19])
    assert labels["team"] == "db"
    assert "alertname" in labels and "cluster" not in labels
    assert dict(labels) == {"alertname": "Down", "team": "db"}
    assert len(labels) == 2
    assert labels == Labels({"team": "db", "alertname": "Down"})
    assert labels == {"alertname": "Down", "team": "db"}


def test_offsets_count_utf8_bytes() -> None:
    labels = Labels({"é": "ü", "a": "b"})
    assert labels.ends == [1, 2, 4, 6]
    again = Labels.packed(labels.text, labels.ends)
    assert dict(again) == {"a": "b", "é": "ü"}


def test_a_later_duplicate_wins_and_names_sort_by_bytes() -> None:
    labels = Labels([("b", "1"), ("a", "x"), ("b", "2"), ("B", "3")])
    assert list(labels.items()) == [("B", "3"), ("a", "x"), ("b", "2")]


def test_empty_names_and_values_round_trip() -> None:
    labels = Labels([("", "x"), ("a", "")])
    assert list(Labels.packed(labels.text, labels.ends).items()) == [("", "x"), ("a", "")]


def test_a_malformed_set_stops_without_raising() -> None:
    assert list(Labels.packed("ab", [1, 2, 5]).items()) == [("a", "b")]
    assert len(dict(Labels.packed("abcd", [3, 1]))) == 0
    assert dict(Labels.packed("é", [1, 2])) == {}


def test_filtered_and_printed() -> None:
    labels = Labels({"alertname": "Down", "replica": "a"})
    assert labels.filtered(lambda n, _: n != "replica") == Labels({"alertname": "Down"})
    assert str(labels) == '{alertname="Down", replica="a"}'
    assert labels.with_label("replica", "b")["replica"] == "b"


# Sets as the host sends them, and malformed ones it never sends: `get` reads in place, and must
# answer what the decoded set answers.
_PACKED_CASES = [
    ("alertnameDownteamdb", [9, 13, 17, 19]),
    ("aébü", [1, 3, 4, 6]),
    ("ab", [1, 2, 5]),
    ("abcd", [3, 1]),
    ("abcd", [1, 9, 2, 4]),
    ("abcd", [2, 1, 3, 4]),
    ("é", [1, 2]),
    ("", []),
]


def test_reading_in_place_answers_what_decoding_answers() -> None:
    for text, ends in _PACKED_CASES:
        decoded = Labels.packed(text, ends)
        list(decoded)  # decodes the set: later reads use it
        for name in ["a", "ab", "abc", "alertname", "team", "b", "é", "", "missing"]:
            fresh = Labels.packed(text, ends)
            assert fresh.get(name) == decoded.get(name), (text, ends, name)
            assert (name in fresh) == (name in decoded), (text, ends, name)
