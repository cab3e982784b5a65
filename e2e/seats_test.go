package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/e2e/stack"
	"github.com/prism-es/prism/shared/testenv"
)

// TestSeatsExampleStreamsLiveBesideTheStack runs the sample domain of
// examples/seats (built only from the kit's packages) as its own program
// beside the four services, on the same Azurite and Redis, as
// docs/build-your-own.md tells a developer to: a hold posted to its API is
// announced on the holder's /streams/me by the unchanged stream-service (a
// ticket from prism-api, a token prism-api issued), and when the hold runs
// out its deadline frees the seat, which the stream announces too.
func TestSeatsExampleStreamsLiveBesideTheStack(t *testing.T) {
	s := startStack(t, stack.Options{Replicas: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	seats := startSeats(t, s)

	c := s.Client()
	user := "fan-" + uuid.NewString()[:8]
	tok, err := c.Token(ctx, user, false)
	require.NoError(t, err)
	me, err := s.Subscribe(ctx, "/streams/me", tok, "")
	require.NoError(t, err)

	show := "e2e-" + uuid.NewString()[:8]
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, seats+"/api/shows/"+show+"/seats/A7/hold", bytes.NewBufferString(`{"holdSeconds": 2}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", uuid.NewString())
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusAccepted, res.StatusCode, string(body))

	// The stream carries the command's outcome and each change of the seat.
	var statuses []string
	completed := false
	for len(statuses) < 2 {
		select {
		case ev, open := <-me:
			require.True(t, open, "the stream closed early")
			switch ev.Type {
			case "command.completed":
				assert.Contains(t, ev.Data, `"status":"succeeded"`)
				completed = true
			case "seat.updated":
				var v struct{ Show, Seat, Status, LastEvent, By string }
				require.NoError(t, json.Unmarshal([]byte(ev.Data), &v))
				assert.Equal(t, show, v.Show)
				assert.Equal(t, "A7", v.Seat)
				assert.Equal(t, user, v.By)
				statuses = append(statuses, v.Status+" "+v.LastEvent)
			}
		case <-ctx.Done():
			t.Fatalf("no seat changes on /streams/me in time; saw %v", statuses)
		}
	}
	assert.True(t, completed, "command.completed came before the seat's changes")
	assert.Equal(t, []string{"held SeatHeld", "free HoldExpired"}, statuses)

	get, err := http.NewRequestWithContext(ctx, http.MethodGet, seats+"/api/shows/"+show+"/seats/A7", nil)
	require.NoError(t, err)
	get.Header.Set("Authorization", "Bearer "+tok)
	res, err = http.DefaultClient.Do(get)
	require.NoError(t, err)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	assert.Contains(t, string(body), `"status":"free"`)
}

// startSeats builds examples/seats/cmd/seats and runs it on the stack's
// Azurite and Redis; it returns its base URL once it is ready.
func startSeats(t *testing.T, s *stack.Stack) string {
	t.Helper()
	root, err := stack.RepoRoot()
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "seats")
	build := exec.Command("go", "build", "-o", bin, "./examples/seats/cmd/seats")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	port, err := testenv.FreePort()
	require.NoError(t, err)
	logPath := filepath.Join(s.Logs, "seats.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"AZURE_STORAGE_CONNECTION_STRING="+s.Env.ConnString, "REDIS_URL="+s.Env.RedisURL,
		fmt.Sprintf("PRISM_HTTP_ADDR=127.0.0.1:%d", port), "PRISM_DEV_MODE=true")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			t.Fatalf("seats exited: %v\n%s", waitErr, log)
		default:
		}
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
		require.True(t, time.Now().Before(deadline), "seats not ready within a minute")
		time.Sleep(100 * time.Millisecond) // a poll interval, not synchronisation
	}
}
