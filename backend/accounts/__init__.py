"""Accounts: users, password hashing, session cookies, sign-in throttling and the REST routes."""
