"""Fault tests: each one breaks a dependency on purpose, bounded in time, and prints one
``FAULT <name>: ...`` summary line. Shared helpers live in modules named per area
(``_billing.py``, ...), so branches adding fault tests merge cleanly."""
