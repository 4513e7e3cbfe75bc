"""Where a generated merchant is: its country's Faker locale, address, telephone, time zone and currency.

Each merchant is coherent for its country: region, postal code and street from the country's Faker locale, a
telephone in E.164 with the country's calling code, a real place of that country for coordinates and time zone,
and prices in the country's currency at realistic magnitudes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Country:
    """A country merchants are generated in."""

    code: str  # ISO 3166-1 alpha-2, as Google's PostalAddress.country
    locale: str  # Faker locale
    currency: str  # ISO 4217
    per_usd: float  # price scale against the catalogue's USD prices
    price_step: int  # prices round to this many units (JPY has no minor unit: round yen, to 500)
    calling_code: str  # E.164 country code
    # Countries with several time zones: zone -> regions in it, so a merchant's region and time zone agree.
    zones: dict[str, tuple[str, ...]] = field(default_factory=dict)


COUNTRIES = (
    Country(
        "US",
        "en_US",
        "USD",
        1.0,
        1,
        "1",
        {
            "America/New_York": ("NY", "NJ", "PA", "MA", "GA", "NC", "VA", "OH"),
            "America/Chicago": ("IL", "TX", "MN", "WI", "MO"),
            "America/Denver": ("CO", "UT", "NM"),
            "America/Los_Angeles": ("CA", "OR", "WA", "NV"),
            "America/Phoenix": ("AZ",),
        },
    ),
    Country("GB", "en_GB", "GBP", 0.8, 5, "44"),
    Country(
        "AU",
        "en_AU",
        "AUD",
        1.5,
        5,
        "61",
        {
            "Australia/Sydney": ("NSW",),
            "Australia/Melbourne": ("VIC",),
            "Australia/Brisbane": ("QLD",),
            "Australia/Perth": ("WA",),
        },
    ),
    Country("DE", "de_DE", "EUR", 0.9, 5, "49"),
    Country("FR", "fr_FR", "EUR", 0.9, 5, "33"),
    Country("JP", "ja_JP", "JPY", 150.0, 500, "81"),
)

# Australia Post's ranges per state, and the state's trunk area digit (ACMA).
AU_POSTCODES = {"NSW": (2000, 2599), "VIC": (3000, 3999), "QLD": (4000, 4999), "WA": (6000, 6797)}
AU_AREA_DIGITS = {"NSW": "2", "VIC": "3", "QLD": "7", "WA": "8"}
# Telephone numbers regulators keep for films and fiction, so a fixture never names someone's real line: NANP
# 555-0100..0199, Ofcom's drama ranges, ACMA's 5550 xxxx, ARCEP's. Germany and Japan keep none: a non-geographic
# form (DE 032 national numbers, JP 050 IP phones) with the country's number length.
PHONE_FORMS = {
    "GB": ("+442079460###", "+441134960###", "+441614960###", "+441314960###"),
    "DE": ("+4932########",),
    "FR": ("+3319900####", "+3326191####", "+3335301####", "+3346571####", "+3353649####"),
    "JP": ("+8150########",),
}


def country_of(code: str) -> Country:
    """The generator's country with this ISO code."""
    return next(c for c in COUNTRIES if c.code == code)


def country_for(index: int) -> Country:
    """The country of the index-th merchant: in turn, shifted by one each round so countries get varied verticals."""
    return COUNTRIES[(index + index // len(COUNTRIES)) % len(COUNTRIES)]


def local_faker(fakers: dict[str, Any], country: Country, rng: random.Random):
    """The country's Faker, seeded from the generator's rng (never globally), so each merchant is reproducible."""
    from faker import Faker  # imported here: start-up from a committed fixture never pays for Faker

    if country.locale not in fakers:
        fakers[country.locale] = Faker(country.locale)
    fake = fakers[country.locale]
    fake.seed_instance(rng.getrandbits(64))
    return fake


def place(fake, country: Country) -> tuple[str, float, float, str]:
    """A real place of the country (Faker's geo data): its region, coordinates and time zone agree."""
    from faker.providers.geo import Provider

    places = [p for p in Provider.land_coords if p[3] == country.code and (not country.zones or p[4] in country.zones)]
    latitude, longitude, _name, _code, timezone = fake.random_element(places)
    region = fake.random_element(country.zones[timezone]) if country.zones else ""
    return region, float(latitude), float(longitude), timezone


def address(fake, country: Country, region: str) -> dict:
    """A postal address in the country's format from its Faker locale (region given for multi-zone countries)."""
    # en_GB puts a flat on a line of its own: one line, as a feed's street_address is.
    street, postal_code = fake.street_address().replace("\n", ", "), ""
    if country.code == "US":
        postal_code = fake.postcode_in_state(region)
    elif country.code == "AU":
        low, high = AU_POSTCODES[region]
        postal_code = f"{fake.random_int(low, high):04d}"
    elif country.code == "GB":
        region, postal_code = fake.county(), fake.postcode()
    elif country.code == "DE":
        region, postal_code = fake.state(), fake.postcode()
    elif country.code == "FR":
        # A metropolitan département (overseas ones lie in other time zones); its number leads the postcode.
        from faker.providers.address.fr_FR import Provider as FrenchAddress

        number, region = fake.random_element([d for d in FrenchAddress.departments if not d[0].startswith("97")])
        postal_code = ("20" if number in ("2A", "2B") else number) + fake.numerify("###")
    elif country.code == "JP":
        region, postal_code = fake.prefecture(), fake.zipcode()
        street = f"{fake.town()}{fake.chome()}{fake.ban()}{fake.gou()}"
    return {
        "street_address": street,
        "locality": fake.city(),
        "region": region,
        "country": country.code,
        "postal_code": postal_code,
    }


def telephone(fake, country: Country, region: str) -> str:
    """An E.164 number with the country's calling code."""
    if country.code == "US":
        return f"+1{fake.random_int(2, 9)}{fake.numerify('##')}55501{fake.numerify('##')}"
    if country.code == "AU":
        return fake.numerify(f"+61{AU_AREA_DIGITS[region]}5550####")
    return fake.numerify(fake.random_element(PHONE_FORMS[country.code]))


def local_price(usd: int, country: Country) -> int:
    """A catalogue price in dollars as whole units of the country's currency, rounded as menus round it."""
    if not usd:
        return 0
    return max(country.price_step, int(usd * country.per_usd / country.price_step + 0.5) * country.price_step)
