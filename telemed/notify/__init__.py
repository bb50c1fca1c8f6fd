"""Notifications that leave a transaction: the outbox and its relay to Socket.IO clients."""
