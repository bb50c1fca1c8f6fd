"""The admin area: contracts and insured lists, doctors and schedules, the duty roster, users."""
