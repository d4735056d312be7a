from __future__ import annotations

import pytest

from plans.services import plans_seed_demo


@pytest.fixture
def demo_plans(db):
    """The demo plans, prices and meter prices (Free, Pay as you go, Pro, Enterprise)."""
    return plans_seed_demo()
