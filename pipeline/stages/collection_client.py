"""The item a create made, found in its collection: for a create that answers no id (a
201 with an empty body, Spring's ResponseEntity<Void>), the tests read the collection and
take the last item with the values the create sent.

Used twice: stages/testgen.py finds the item while it records, and the part below the
marker goes into a task's test_func.py when its tests have such a step (shipped_code.py).
"""

from __future__ import annotations

# --- shipped with the tests from here ---


def collection_items(payload):
    """The items of a collection answer: a list, or the one list an object holds ([] for an
    object with several); None for anything else."""
    if isinstance(payload, dict):
        lists = [value for value in payload.values() if isinstance(value, list)]
        return lists[0] if len(lists) == 1 else []
    return payload if isinstance(payload, list) else None


def created_item(payload, sent):
    """The last item of a collection answer with the values a create sent."""
    items = collection_items(payload)
    assert isinstance(items, list), f"expected a collection, got {payload!r}"
    for item in reversed(items):
        if isinstance(item, dict) and all(item.get(key) == value for key, value in sent.items()):
            return item
    raise AssertionError(f"no item with {sent!r} in the collection: {payload!r}")


# --- end of the shipped part ---
