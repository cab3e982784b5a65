// Command eventsdoc prints docs/events.md from the event catalog's schemas
// (`make catalog` writes it).
package main

import (
	"os"

	"github.com/prism-es/prism/shared/eventcatalog"
)

func main() { _, _ = os.Stdout.Write(eventcatalog.Default().Markdown()) }
