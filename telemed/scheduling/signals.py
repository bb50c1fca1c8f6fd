"""What happens to consultations, announced to the features above scheduling (blinker signals).

A feature that must react to a change made here (the urgent queue, when a waiting request is
cancelled or a visit ends) connects a receiver once, at import; receivers run synchronously in
the sender's transaction, so what they write commits or rolls back with the change itself.
Receivers must not commit, and must not fail for consultations that are not theirs.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent with the ``Consultation`` as sender and ``session``, ``previous`` (its status before) and
#: ``now`` whenever a consultation's status changes here (cancelled, completed).
status_changed = _signals.signal("consultation-status-changed")
