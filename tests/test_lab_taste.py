"""Issue 23's protocol as the lead runs it (keepers.core.lab.taste): a person's first half imported by `keepers taste
import`, the second half scored by `keepers cull --json --taste`, on real people's choices in ../shared/data/taste."""

from __future__ import annotations

from keepers.core.lab import taste


def test_the_others_majority_is_read_from_the_other_people_only(shared_data):
    people = taste.flowers(shared_data)
    assert len(people) == 22 and all(len(p) == 400 for p in people.values())
    name, pairs = next(iter(people.items()))
    # the person's own votes are not among the others': with them the majority would side with the person more
    assert 0.55 < taste.majority(name, pairs, people) < 0.75
    assert taste.majority(name, pairs, {**people, "copy": pairs}) > taste.majority(name, pairs, people)


def test_a_pair_is_counted_as_held_where_taste_may_not_move_one_of_its_photos():
    # the report counts the second halves' pairs taste could not order freely (core/taste/term.band): a reject, or a
    # photo judged bad for a named flaw; a bad photo the quality model only doubts, or a keeper, taste moves freely
    from keepers.core.judge.flaws import DOUBT

    blur = {"code": "blur", "message": "Out of focus", "severity": 0.8, "cost": 2.1, "role": "took"}
    doubt = {"code": "quality", "message": f"{DOUBT} (0.4)", "severity": 0.5, "cost": 1.2, "role": "took"}
    assert taste.held({"score": 2.4, "reasons": []})
    assert taste.held({"score": 4.1, "reasons": [blur]})
    assert not taste.held({"score": 4.1, "reasons": [doubt]})
    assert not taste.held({"score": 6.3, "reasons": [blur]})
    # the band is the general score's: a keeper with a flaw that a person's taste took below the good line is free
    taken = {"code": "taste", "message": "your taste (p): -2.0", "severity": 0.7, "cost": 2.0, "role": "took"}
    assert not taste.held({"score": 4.3, "reasons": [blur, taken]})
