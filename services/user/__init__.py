"""The user service: accounts, authentication, tokens, profiles, roles and password reset."""
