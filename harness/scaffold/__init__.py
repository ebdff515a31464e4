"""`parity init`'s stage: what it was pointed at, what it observes, the frameworks it recognises
and the profile it writes (composed by `harness.commands.init`)."""
