"""tapwell's mappers, one package each (installed as tapwell.mappers.NAME from the repo's
mappers/NAME/): each is a standalone Singer executable (`mapper-NAME`) that reads SCHEMA, RECORD
and STATE messages on stdin and writes them, transformed, on stdout, between any tap and target."""
