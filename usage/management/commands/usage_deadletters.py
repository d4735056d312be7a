"""``manage.py usage_deadletters``: list, replay or discard the usage pipeline's dead letters.

    manage.py usage_deadletters                    # list (oldest first; --json for machines)
    manage.py usage_deadletters --replay ID [ID …] # back onto the usage stream
    manage.py usage_deadletters --replay-all
    manage.py usage_deadletters --discard ID [ID …]

Fix the cause first (the error says what PostgreSQL refused), then replay: the consumer writes
the events again and their ids keep a replay from ever counting an event twice.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from portal.redis import redis_client
from usage.events import STREAM_KEY
from usage.ingest.deadletters import dead_letter_discard, dead_letter_replay, dead_letters


class Command(BaseCommand):
    help = "List, replay (idempotently) or discard the usage pipeline's dead letters."

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--replay", nargs="+", metavar="ID", help="Put these dead letters back on the stream.")
        action.add_argument("--replay-all", action="store_true", help="Put every dead letter back on the stream.")
        action.add_argument("--discard", nargs="+", metavar="ID", help="Delete these dead letters for good.")
        parser.add_argument("--limit", type=int, default=100, help="Dead letters listed at most (default 100).")
        parser.add_argument("--json", action="store_true", help="List as JSON lines.")

    def handle(self, *args, **options):
        redis = redis_client()
        if options["replay_all"]:
            letters = dead_letters(redis)
        elif options["replay"] or options["discard"]:
            wanted = options["replay"] or options["discard"]
            letters = dead_letters(redis, ids=wanted)
            missing = sorted(set(wanted) - {letter.id for letter in letters})
            if missing:
                raise CommandError(f"No dead letter with id {', '.join(missing)} (list them without arguments).")
        else:
            return self._list(dead_letters(redis, count=options["limit"]), as_json=options["json"])
        if options["discard"]:
            for letter in letters:
                dead_letter_discard(redis, letter=letter)
            self.stdout.write(f"discarded {len(letters)} dead letters")
            return None
        events = 0
        for letter in letters:
            dead_letter_replay(redis, letter=letter)
            events += letter.events or 0
        self.stdout.write(f"replayed {len(letters)} dead letters ({events} events) onto {STREAM_KEY}")
        return None

    def _list(self, letters, *, as_json: bool) -> None:
        for letter in letters:
            if as_json:
                self.stdout.write(
                    json.dumps(
                        {"id": letter.id, "entry_id": letter.entry_id, "events": letter.events, "error": letter.error}
                    )
                )
            else:
                events = "?" if letter.events is None else letter.events
                self.stdout.write(f"{letter.id}  entry {letter.entry_id}  {events} events  {letter.error}")
        if not as_json:
            self.stdout.write(f"{len(letters)} dead letters shown")
