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

