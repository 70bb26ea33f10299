"""Object counting: an inventory with distractors, and how many items of one kind it holds."""

from __future__ import annotations

import random

COUNTABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "fruits": (
        ("apple", "apples"), ("banana", "bananas"), ("strawberry", "strawberries"),
        ("peach", "peaches"), ("orange", "oranges"), ("plum", "plums"),
        ("raspberry", "raspberries"), ("grape", "grapes"), ("nectarine", "nectarines"),
        ("blackberry", "blackberries"),
    ),
    "vegetables": (
        ("carrot", "carrots"), ("potato", "potatoes"), ("yam", "yams"),
        ("cauliflower", "cauliflowers"), ("cabbage", "cabbages"), ("onion", "onions"),
        ("head of broccoli", "heads of broccoli"), ("stalk of celery", "stalks of celery"),
        ("lettuce head", "lettuce heads"),
    ),
    "musical instruments": (
        ("piano", "pianos"), ("flute", "flutes"), ("trombone", "trombones"),
        ("violin", "violins"), ("accordion", "accordions"), ("clarinet", "clarinets"),
        ("drum", "drums"), ("trumpet", "trumpets"),
    ),
    "animals": (
        ("cow", "cows"), ("goat", "goats"), ("chicken", "chickens"), ("fish", "fish"),
        ("snake", "snakes"), ("mouse", "mice"), ("rabbit", "rabbits"), ("frog", "frogs"),
        ("pig", "pigs"), ("duck", "ducks"), ("cat", "cats"), ("donkey", "donkeys"),
        ("snail", "snails"), ("bear", "bears"),
    ),
    "objects": (
        ("car", "cars"), ("oven", "ovens"), ("chair", "chairs"), ("table", "tables"),
        ("lamp", "lamps"), ("couch", "couches"), ("bed", "beds"), ("fridge", "fridges"),
        ("stove", "stoves"), ("microwave", "microwaves"), ("toaster", "toasters"),
    ),
}
"""Things to count, by the category a question asks about: (singular, plural) names."""

NUMBER_WORDS: tuple[str, ...] = ("zero", "one", "two", "three", "four", "five")
"""Quantities as words, by value."""


def _phrase(quantity: int, singular: str, plural: str) -> str:
    if quantity == 1:
        return f"{'an' if singular[0] in 'aeiou' else 'a'} {singular}"
    return f"{NUMBER_WORDS[quantity]} {plural}"


def _english_list(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return f"{parts[0]} and {parts[1]}"
    return f"{', '.join(parts[:-1])}, and {parts[-1]}"


def make_object_counting(rng: random.Random) -> tuple[str, str]:
    """One inventory with distractors, a question about one category, and the count.

    Questions about ``objects`` list only household objects, so that nothing
    else could be counted as an object.
    """
    category = rng.choice(tuple(COUNTABLES))
    own = COUNTABLES[category]
    kinds = rng.randrange(3, 11)
    if category == "objects":
        asked = min(kinds, len(own))
        distractors = 0
    else:
        asked = rng.randrange(1, min(kinds, len(own)) + 1)
        distractors = kinds - asked
    others = [item for name, items in COUNTABLES.items() if name not in (category, "objects") for item in items]
    others += list(COUNTABLES["objects"])
    chosen = [(item, True) for item in rng.sample(own, asked)]
    chosen += [(item, False) for item in rng.sample(others, distractors)]
    rng.shuffle(chosen)
    total = 0
    parts = []
    for (singular, plural), counted in chosen:
        quantity = 1 if rng.random() < 0.65 else rng.randrange(2, len(NUMBER_WORDS))
        parts.append(_phrase(quantity, singular, plural))
        total += quantity if counted else 0
    return f"I have {_english_list(parts)}. How many {category} do I have?", str(total)
