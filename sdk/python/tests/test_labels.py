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
