"""The urgent 24/7 queue: requests, doctors on duty, pick-up, escalation (see ``service``)."""
