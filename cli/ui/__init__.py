"""What the user sees and types: the live panel, keys, the countdown, help style, reports."""
