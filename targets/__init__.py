"""tapwell's targets, one package each (installed as tapwell.targets.NAME from the repo's
targets/NAME/): each is a standalone Singer executable (`target-NAME`) built on tapwell.sdk."""
