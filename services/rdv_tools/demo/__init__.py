"""The login-bot demo: its one traffic generator, its example models and the stories `rdv up`
and `rdv demo` tell."""
