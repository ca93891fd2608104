#!/bin/sh
# The tapwell image's entrypoint: tapwell, run in the project folder ($TAPWELL_PROJECT, /project
# in the image) with the arguments given (`docker run IMAGE run demo`). With none it runs the
# integration named by $TAPWELL_INTEGRATION. Works the same outside docker:
#   TAPWELL_PROJECT=. deploy/entrypoint.sh run demo
set -eu
cd "${TAPWELL_PROJECT:-/project}"
if [ "$#" -eq 0 ]; then
    if [ -z "${TAPWELL_INTEGRATION:-}" ]; then
        echo "tapwell: error: nothing to run: pass a tapwell command (run NAME) or set TAPWELL_INTEGRATION" >&2
        exit 2
    fi
    set -- run "$TAPWELL_INTEGRATION" --quiet
fi
exec tapwell "$@"
