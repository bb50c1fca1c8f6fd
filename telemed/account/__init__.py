"""A user's own account: password change, active logins, deactivation by an admin, each audited."""
