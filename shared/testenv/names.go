package testenv

import (
	"strings"

	"github.com/google/uuid"
)

// TableName returns a unique, valid table name starting with prefix
// (letters and digits only).
func TableName(prefix string) string {
	return prefix + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
}

// QueueName returns a unique, valid queue name starting with prefix
// (lowercase letters, digits and hyphens).
func QueueName(prefix string) string {
	return strings.ToLower(prefix) + "-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
}
