"""The kit for writing connectors on the Singer protocol: a connector's settings declared once
(`tapwell.sdk.settings`), the light tap API and the tap CLI
(`tapwell.sdk.tap`), the target loop and the target CLI (`tapwell.sdk.target`), progress and
METRIC lines, wide pipes, SQL identifier rules, the conformance checker (`tapwell.sdk.check`) and
the scaffold of new connector repos (`tapwell.sdk.scaffold`). Imports tapwell.singer only."""
