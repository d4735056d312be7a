"""The sample monetized API: small, deterministic, validated. What the operator would sell."""

from __future__ import annotations

import hashlib
import re

from rest_framework import serializers

from gateway.hotpath import Served

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
TRACKING_ID = re.compile(r"^trk_[0-9a-f]{24}$")
DELIVERY_STATES = ("queued", "sent", "delivered", "delivered", "delivered", "failed")
WORDS = [
    "alpha",
    "bridge",
    "cedar",
    "delta",
    "ember",
    "fjord",
    "garnet",
    "harbor",
    "island",
    "juniper",
    "kestrel",
    "lumen",
    "meadow",
    "nectar",
    "orbit",
    "prairie",
    "quartz",
    "river",
    "summit",
    "tundra",
    "umber",
    "valley",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
]


def tracking_id_for(message_id: str, number: str) -> str:
    return "trk_" + hashlib.sha256(f"{message_id}:{number}".encode()).hexdigest()[:24]


# --- POST /v1/sms -----------------------------------------------------------------------------
class SmsSendInput(serializers.Serializer):
    to = serializers.ListField(
        child=serializers.CharField(max_length=16),
        min_length=1,
        max_length=100,
        help_text="Recipients in E.164 format, e.g. +2348012345678 (1–100).",
    )
    message = serializers.CharField(max_length=1600, help_text="Text of the message (up to 1,600 characters).")
    sender_id = serializers.RegexField(
        r"^[A-Za-z0-9 ]{1,11}$", required=False, help_text="Alphanumeric sender, up to 11 characters."
    )

    def validate_to(self, value: list[str]) -> list[str]:
        bad = [number for number in value if not E164.match(number)]
        if bad:
            raise serializers.ValidationError(f"Not E.164 phone numbers: {', '.join(bad[:5])}.")
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each recipient may appear only once.")
        return value


class SmsRecipientOutput(serializers.Serializer):
    to = serializers.CharField()
    tracking_id = serializers.CharField()


class SmsSendOutput(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    segments = serializers.IntegerField()
    recipients = SmsRecipientOutput(many=True)
    units = serializers.IntegerField(help_text="Units charged: one per recipient.")


def sms_send(request, *, data, key, **kwargs) -> Served:
    digest = hashlib.sha256(("|".join(data["to"]) + "\n" + data["message"]).encode()).hexdigest()
    message_id = f"sms_{digest[:24]}"
    segments = max(1, -(-len(data["message"]) // 160))
    recipients = [{"to": number, "tracking_id": tracking_id_for(message_id, number)} for number in data["to"]]
    return Served(
        {
            "id": message_id,
            "status": "queued",
            "segments": segments,
            "recipients": recipients,
            "units": len(recipients),
        },
        status=201,
        units=len(recipients),
    )


# --- GET /v1/deliveries/{tracking_id} ------------------------------------------------------------
class DeliveryStatusInput(serializers.Serializer):
    tracking_id = serializers.RegexField(
        TRACKING_ID.pattern, error_messages={"invalid": "Expected trk_ followed by 24 hex digits."}
    )


class DeliveryStatusOutput(serializers.Serializer):
    tracking_id = serializers.CharField()
    status = serializers.ChoiceField(choices=sorted(set(DELIVERY_STATES)))
    attempts = serializers.IntegerField()
    error = serializers.CharField(allow_null=True)


def delivery_status_get(request, *, data, key, **kwargs) -> Served:
    tracking_id = data["tracking_id"]
    n = int(tracking_id[4:12], 16)
    status = DELIVERY_STATES[n % len(DELIVERY_STATES)]
    return Served(
        {
            "tracking_id": tracking_id,
            "status": status,
            "attempts": 1 + n % 3,
            "error": "Handset unreachable" if status == "failed" else None,
        }
    )


# --- POST /v1/ai/completions ---------------------------------------------------------------------
class CompletionInput(serializers.Serializer):
    prompt = serializers.CharField(max_length=8000, help_text="The prompt to complete.")
    max_tokens = serializers.IntegerField(
        min_value=1, max_value=2048, default=64, help_text="Upper bound on generated tokens (1–2,048)."
    )


class CompletionUsageOutput(serializers.Serializer):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()


class CompletionOutput(serializers.Serializer):
    id = serializers.CharField()
    text = serializers.CharField()
    usage = CompletionUsageOutput()
    units = serializers.IntegerField(help_text="Units charged: total tokens.")


def ai_completion_create(request, *, data, key, **kwargs) -> Served:
    """Deterministic: the same prompt and max_tokens always give the same text."""
    prompt_tokens = len(data["prompt"].split()) or 1
    seed = hashlib.sha256(f"{data['prompt']}\x00{data['max_tokens']}".encode()).digest()
    count = min(data["max_tokens"], 8 + seed[0] % 56)
    words = [WORDS[(seed[i % 32] + i * 7) % len(WORDS)] for i in range(count)]
    text = " ".join(words).capitalize() + "."
    total = prompt_tokens + count
    return Served(
        {
            "id": "cmpl_" + seed.hex()[:24],
            "text": text,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": count, "total_tokens": total},
            "units": total,
        },
        units=total,
    )
