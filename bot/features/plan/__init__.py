"""/plan: study towards an interview date (docs/plan.md, docs/decisions/0009).

``/plan 2027-01-20 topics:llm,ml-systems,evaluation`` (or the form behind /plan's button)
keeps one plan per member. Until that date:

- /practice asks the member's due cards in the plan's topics first, then a daily share of the
  topics' unseen multiple-choice questions, sized so every one is seen before the last 72
  hours; a DM each day says what today holds (``command``);
- reviews in those topics aim for higher recall in the last week, and the last 72 hours are
  a cram: /practice also brings back the cards likeliest to be forgotten by the day
  (``state``, which features/practice.py asks);
- mock rounds put members whose interview is within two weeks first (``state``, which
  features/mocks/rounds.py asks).

The package splits so that nothing imports in a circle: ``state`` is the plan as data and
the rules other features ask (it imports no feature), ``command`` is the feature itself (it
imports practice). This module imports neither, so importing ``state`` runs nothing else.
"""
