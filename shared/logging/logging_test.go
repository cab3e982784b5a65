package logging_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/prism-es/prism/shared/logging"
)

func TestWithReplacesAnAttributeOfTheSameKey(t *testing.T) {
	ctx := logging.With(context.Background(), slog.String("correlationId", "made-up"), slog.String("commandId", "c1"))
	ctx = logging.With(ctx, slog.String("correlationId", "c1"))
	assert.Equal(t, []slog.Attr{slog.String("commandId", "c1"), slog.String("correlationId", "c1")}, logging.Attrs(ctx))
}
