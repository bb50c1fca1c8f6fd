"""Notifications to people: in-app (the bell, live over Socket.IO) and e-mail, with reminders."""
