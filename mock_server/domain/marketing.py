"""Marketing preferences (SetMarketingPreference, an add-on): the last consent each user gave, kept per tenant."""

from __future__ import annotations

from .clock import SandboxClock
from .models import MarketingPreference, UserInformation
from .state import BookingState


class MarketingPreferences:
    """The users' marketing preferences, in the tenant's booking state (a reset forgets them with the bookings)."""

    def __init__(self, state: BookingState, clock: SandboxClock):
        self.state = state
        self.clock = clock

    def set(self, user: UserInformation, user_to_receive_marketing: bool) -> MarketingPreference:
        """Keep the user's choice in place of any earlier one (the user information as last sent) and answer it."""
        preference = MarketingPreference(user, user_to_receive_marketing, self.clock.now())
        with self.state.lock:
            self.state.set_marketing_preference(preference)
        return preference

    def all(self) -> list[MarketingPreference]:
        """Every user's preference, by user id."""
        return sorted(self.state.marketing_preferences(), key=lambda p: p.user.user_id)
