package storage

import "strings"

// ODataString escapes s for a single-quoted string literal in a Table
// Storage filter (a quote is doubled), so keys from outside cannot change
// the filter.
func ODataString(s string) string { return strings.ReplaceAll(s, "'", "''") }
