"""tapwell's taps, one package each (installed as tapwell.taps.NAME from the repo's taps/NAME/):
each is a standalone Singer executable (`tap-NAME`) built on tapwell.sdk."""
