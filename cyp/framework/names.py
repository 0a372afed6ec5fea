"""Resolving what a person wrote (a name, a variant, a ref) to the record it means.

One lookup serves the checker (which reports what does not resolve) and the workbook import
(which stores what does). The source's policy decides what is accepted: the workbook forgives
case, spacing, variants and a team's former name; the files accept only the canonical spelling
and say what to write instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from cyp.framework.model import Framework
from cyp.spelling import closest


def name_key(name: str) -> str:
    """Matching key for names typed by people: case and runs of spaces do not matter."""
    return " ".join(name.split()).casefold()


class Lookup:
    """Known refs and names of one kind of record, each with the spelling to show for it."""

    def __init__(self, label: str, place: str, forgiving: bool) -> None:
        self.label = label
        self.place = place
        self.forgiving = forgiving
        self.exact: dict[str, str] = {}
        self.keys: dict[str, str] = {}
        self.shown: dict[str, str] = {}

    def add(self, ref: str | None, *names: str | None, shown: str | None = None, canonical: bool = False) -> None:
        """Know ``ref`` by itself and by ``names``; the first record to claim a spelling keeps it.

        With ``canonical`` the names are the record's one spelling, accepted even by a strict source.
        """
        if ref is None:
            return
        for name in (ref, *names):
            if not name:
                continue
            if canonical and name != ref:
                self.exact.setdefault(name, ref)
            key = name_key(name)
            if key not in self.keys:
                self.keys[key] = ref
                self.shown[key] = shown or ref

    def add_refs(self, refs: list[str | None]) -> None:
        """Know records by ref alone (objectives, indicators: rows name them by ref)."""
        for ref in refs:
            if ref is not None:
                self.exact.setdefault(ref, ref)
                self.add(ref)

    def find(self, typed: str) -> str | None:
        """The ref ``typed`` means under the source's policy, or None."""
        if self.forgiving:
            return self.keys.get(name_key(typed))
        return self.exact.get(typed)

    def refusal(self, typed: str) -> str:
        """Why ``typed`` does not resolve, and how to fix it."""
        key = name_key(typed)
        if not self.forgiving and key in self.keys:
            hint = f"; write it as {self.shown[key]}."
        elif close := closest(key, self.shown):
            hint = f"; did you mean {self.shown[close]}?"
        else:
            hint = f"; add it to {self.place} first."
        return f"'{typed}' is not {self.label}{hint}"


@dataclass
class Lookups:
    """Every lookup the framework's cross-references need."""

    partners: Lookup
    bodies: Lookup
    domains: Lookup
    objectives: Lookup
    indicators: Lookup
    drivers: dict[str | None, Lookup]

    def drivers_of(self, plan: str | None) -> Lookup | None:
        """The drivers of one plan, or None when the plan is unknown."""
        return self.drivers.get(plan)


def lookups(data: Framework) -> Lookups:
    """Build the lookups for ``data`` under its source's naming policy."""
    forgiving = data.forgiving
    partners = Lookup("a partner", data.place("partner"), forgiving)
    bodies = Lookup("a monitoring body", data.place("body"), forgiving)
    for records, lookup in ((data.partners, partners), (data.bodies, bodies)):
        for record in records:
            if record.name is not None:
                lookup.add(record.ref, record.name, shown=record.name, canonical=True)
        # Variants second, so a canonical name always wins over another record's variant.
        for record in records:
            lookup.add(record.ref, *record.variants, shown=record.name or record.ref)
        # Last, former names: renaming a team on its own sheet need not mean retyping every line.
        for record in records:
            lookup.add(record.ref, *record.former_names, shown=record.name or record.ref)
    domains = Lookup("an index domain", data.place("domain"), forgiving)
    domains.add_refs([d.ref for d in data.domains])
    for domain in data.domains:
        domains.add(domain.ref, domain.short_name)
    objectives = Lookup("an objective", data.place("objective"), forgiving)
    objectives.add_refs([o.ref for o in data.objectives])
    indicators = Lookup("an indicator", data.place("indicator"), forgiving)
    indicators.add_refs([i.ref for i in data.indicators])
    drivers: dict[str | None, Lookup] = {}
    for plan in data.plans:
        drivers.setdefault(plan.ref, Lookup("a driver of this line's plan", data.place("driver"), forgiving))
    for driver in data.drivers:
        if driver.plan in drivers and driver.name is not None:
            drivers[driver.plan].add(driver.ref, driver.name, shown=driver.name, canonical=True)
    return Lookups(partners, bodies, domains, objectives, indicators, drivers)
